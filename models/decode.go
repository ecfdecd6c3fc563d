package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// decodeFile parses b as one File followed by nothing but white space.
//
// It replaces three passes of encoding/json (a key check, then a
// reflective decode, then a look for trailing data), which cost every
// start of classify -m about 50 ms on the shipped forest. It accepts
// exactly what those passes accepted and builds the same File (the
// differential tests in decode_test.go hold it to that), save that a key
// is matched exactly in every tree, where the key check let a tree key in
// another case through in all but the last of repeated "trees" keys.
//
// Where JSON allows a choice, it does what encoding/json does: a
// repeated key decodes again into what the first one left (so mostly the
// last wins), null empties a slice and leaves a string, a number and a
// tree as they were, and strings with escapes or invalid UTF-8 are
// unquoted by encoding/json itself.
func decodeFile(b []byte, m *File) error {
	d := decoder{b: b}
	d.space()
	if d.i == len(d.b) {
		return io.EOF // what json.Decoder says of nothing but white space
	}
	if err := d.object(func(key []byte) error {
		return d.fileKey(m, key)
	}); err != nil {
		var syntax *syntaxError
		if !errors.As(err, &syntax) && !errors.Is(err, io.ErrUnexpectedEOF) {
			// encoding/json checked the whole model's syntax before its
			// fit to the schema, so a file both misspelt and misfitting
			// was reported misspelt (not JSON, or cut short): keep that.
			if err := json.NewDecoder(bytes.NewReader(b)).Decode(new(json.RawMessage)); err != nil {
				return err
			}
		}
		return err
	}
	d.space()
	if d.i < len(d.b) {
		return errors.New("data after the model")
	}
	return nil
}

func (d *decoder) fileKey(m *File, key []byte) error {
	var err error
	switch string(key) {
	case "format":
		err = d.str(&m.Format)
	case "version":
		err = d.int(&m.Version)
	case "kind":
		err = d.str(&m.Kind)
	case "description":
		err = d.str(&m.Description)
	case "features":
		m.Features, err = decodeSlice(d, m.Features, "features", "feature", (*decoder).str)
		return err
	case "classes":
		m.Classes, err = decodeSlice(d, m.Classes, "classes", "class", (*decoder).str)
		return err
	case "trees":
		m.Trees, err = decodeSlice(d, m.Trees, "trees", "tree", (*decoder).tree)
		return err
	default:
		return fmt.Errorf("unknown key %q", key)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// tree decodes into t field by field, as encoding/json does, so that a
// repeated "trees" key fills in what the earlier one left. An error in
// node i's threshold reads "threshold i", in leaf i's values "value i".
func (d *decoder) tree(t *Tree) error {
	return d.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "feature":
			t.Feature, err = decodeSlice(d, t.Feature, "feature", "feature", (*decoder).int32)
		case "threshold":
			t.Threshold, err = decodeSlice(d, t.Threshold, "threshold", "threshold", (*decoder).float32)
		case "left":
			t.Left, err = decodeSlice(d, t.Left, "left", "left", (*decoder).int32)
		case "right":
			t.Right, err = decodeSlice(d, t.Right, "right", "right", (*decoder).int32)
		case "value":
			t.Value, err = decodeSlice(d, t.Value, "value", "value", (*decoder).leaf)
		default:
			return fmt.Errorf("unknown key %q", key)
		}
		return err
	})
}

// leaf reads one leaf's weights, which are per class.
func (d *decoder) leaf(v *[]float32) error {
	var err error
	*v, err = decodeSlice(d, *v, "", "class", (*decoder).float32)
	return err
}

// decoder reads JSON from b at i. Its methods leave i after what they
// read, and on an error anywhere, since the caller gives up.
type decoder struct {
	b     []byte
	i     int
	block []float32 // see carve
}

// skipSpace is space for the path of every number, where a written model
// has no white space: the test for it is inlined, the loop is not.
func (d *decoder) skipSpace() {
	if d.i < len(d.b) && d.b[d.i] <= ' ' {
		d.space()
	}
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value skips white space to the next value and tells whether it is
// null, consuming the null; a value of another kind than want (the first
// byte of the kind, '0' for numbers) is an error. Null is left to the
// caller because what it means depends on the Go type.
func (d *decoder) value(want byte) (null bool, err error) {
	if d.i < len(d.b) && isKind(d.b[d.i], want) {
		return false, nil
	}
	return d.otherValue(want)
}

func isKind(c, want byte) bool {
	return c == want || want == '0' && (c == '-' || c-'0' <= 9)
}

// otherValue is value's slow path: white space, null, and errors.
func (d *decoder) otherValue(want byte) (null bool, err error) {
	d.space()
	if d.i == len(d.b) {
		return false, io.ErrUnexpectedEOF
	}
	c := d.b[d.i]
	if isKind(c, want) {
		return false, nil
	}
	var found string
	switch {
	case c == 'n':
		return true, d.literal("null")
	case c == '"':
		found = "a string"
	case c == '{':
		found = "an object"
	case c == '[':
		found = "an array"
	case c == 't' || c == 'f':
		found = "a boolean"
	case c == '-' || '0' <= c && c <= '9':
		found = "a number"
	default:
		return false, d.syntax("looking for beginning of value")
	}
	wanted := "a number"
	switch want {
	case '"':
		wanted = "a string"
	case '{':
		wanted = "an object"
	case '[':
		wanted = "an array"
	}
	return false, fmt.Errorf("%s where %s belongs, at offset %d", found, wanted, d.i)
}

func (d *decoder) literal(lit string) error {
	for j := range len(lit) {
		if d.i == len(d.b) {
			return io.ErrUnexpectedEOF
		}
		if d.b[d.i] != lit[j] {
			return d.syntax("in literal " + lit + " (expecting " + quoteChar(lit[j]) + ")")
		}
		d.i++
	}
	return nil
}

// syntaxError is a breach of JSON's grammar, as opposed to JSON that does
// not fit the schema.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

// syntax reports the byte at i as encoding/json's scanner words it.
func (d *decoder) syntax(context string) error {
	return &syntaxError{fmt.Sprintf("invalid character %s %s, at offset %d", quoteChar(d.b[d.i]), context, d.i)}
}

func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// object reads an object (or a null, which sets nothing) and hands each
// key, unquoted, to field, which must read the key's value.
func (d *decoder) object(field func(key []byte) error) error {
	null, err := d.value('{')
	if null || err != nil {
		return err
	}
	d.i++
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		d.space()
		if d.i == len(d.b) {
			return io.ErrUnexpectedEOF
		}
		if d.b[d.i] != '"' {
			return d.syntax("looking for beginning of object key string")
		}
		key, err := d.quoted()
		if err != nil {
			return err
		}
		d.space()
		if d.i == len(d.b) {
			return io.ErrUnexpectedEOF
		}
		if d.b[d.i] != ':' {
			return d.syntax("after object key")
		}
		d.i++
		if err := field(key); err != nil {
			return err
		}
		if done, err := d.next('}', "after object key:value pair"); done || err != nil {
			return err
		}
	}
}

// next reads the comma or the closing bracket after a member.
func (d *decoder) next(end byte, context string) (done bool, err error) {
	d.skipSpace()
	if d.i == len(d.b) {
		return false, io.ErrUnexpectedEOF
	}
	if c := d.b[d.i]; c == ',' || c == end {
		d.i++
		return c == end, nil
	}
	return false, d.syntax(context)
}

// decodeSlice reads an array into s, element by element with elem, and
// returns the slice. Like encoding/json it decodes into the elements s
// already holds, up to its capacity, rather than into fresh ones: a null
// element then keeps what a repeated key put there before. An error in
// element i is prefixed "label i", one in the array itself "name".
func decodeSlice[T any](d *decoder, s []T, name, label string, elem func(*decoder, *T) error) ([]T, error) {
	null, err := d.value('[')
	if null {
		return nil, err
	}
	if err != nil {
		if name != "" {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return s, err
	}
	d.i++
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return make([]T, 0), nil // not nil: encoding/json tells [] from null
	}
	if cap(s) == 0 {
		s = presize[T](d)
	}
	s = s[:0]
	// Nearly all of a model is arrays of plain numbers: read those in a
	// loop of their own, without a call per element, and let the loop
	// below take over at the first element that is not plain.
	var done bool
	switch p := any(&s).(type) {
	case *[]float32:
		done = d.plainFloat32s(p)
	case *[]int32:
		done = d.plainInt32s(p)
	}
	if done {
		return s, nil
	}
	for i := len(s); ; i++ {
		if i < cap(s) {
			s = s[:i+1]
		} else {
			var zero T
			s = append(s, zero)
		}
		if err := elem(d, &s[i]); err != nil {
			return s, fmt.Errorf("%s %d: %w", label, i, err)
		}
		if done, err := d.next(']', "after array element"); done || err != nil {
			if err != nil && name != "" {
				err = fmt.Errorf("%s: %w", name, err)
			}
			return s, err
		}
	}
}

// presize allocates the slice for an array of numbers starting at i
// once, at the length guessed from the commas before the first closing
// bracket, rather than growing it element by element: a model is nearly
// all such arrays. A wrong guess only costs growing it after all, and
// never more than four bytes for a byte of input. Arrays of anything
// else, which in a model are few or short, are not guessed at: there a
// guess could ask for many times more memory than the input holds.
func presize[T any](d *decoder) []T {
	rest := d.b[d.i:]
	switch any(*new(T)).(type) {
	case float32, int32:
	case []float32:
		// A tree's leaves, [[...],[...],...]: one "],[" between each two
		// up to the first "]]". Grown by doubling instead, their slice
		// headers had been a sixth of a model's allocations. At most one
		// leaf per six bytes is guessed, which keeps within four bytes
		// for a byte of input; any real leaf is longer.
		end := bytes.Index(rest, []byte("]]"))
		if end < 0 {
			return nil
		}
		n := bytes.Count(rest[:end], []byte("],[")) + 1
		return make([]T, 0, min(n, end/6+1))
	default:
		return nil
	}
	end := bytes.IndexByte(rest, ']')
	if end < 0 {
		return nil
	}
	n := bytes.Count(rest[:end], []byte{','}) + 1
	if _, ok := any(*new(T)).(float32); ok {
		return any(d.carve(n)).([]T)
	}
	return make([]T, 0, n)
}

// carve returns an empty slice with room for exactly n float32s, cut from
// a block shared with the arrays decoded before it: a forest has thousands
// of leaves of a dozen values each, and one allocation apiece was a
// quarter of a model's load. The capacity is exact, so an append to one
// array never writes into the next.
func (d *decoder) carve(n int) []float32 {
	if cap(d.block)-len(d.block) < n {
		d.block = make([]float32, 0, max(n, 1<<13))
	}
	k := len(d.block)
	d.block = d.block[:k+n]
	return d.block[k : k : k+n]
}

// pow10f64 holds the powers of ten that are exact in float64 (5^22 < 2^53).
var pow10f64 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// plainNumber reads the number at i if it is plain, -?(0|[1-9][0-9]*)
// with an optional fraction, at most 19 digits and no exponent, and is
// followed straight away by ',' or ']'. It returns the digits as an
// integer, how many follow the point, the sign, and where the delimiter
// is; ok is false for anything else, which the general path then reads.
func plainNumber(b []byte, i int) (mant uint64, frac int, neg bool, end int, ok bool) {
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	first := i
	switch {
	case i == len(b):
		return
	case b[i] == '0':
		i++
	default:
		for i < len(b) && b[i]-'0' <= 9 {
			mant = mant*10 + uint64(b[i]-'0')
			i++
		}
		if i == first {
			return
		}
	}
	ndig := i - first
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i]-'0' <= 9 {
			mant = mant*10 + uint64(b[i]-'0')
			i++
		}
		if frac = i - start; frac == 0 {
			return
		}
		ndig += frac
	}
	if ndig > 19 || i == len(b) || b[i] != ',' && b[i] != ']' {
		return
	}
	return mant, frac, neg, i, true
}

// plainFloat32s appends to *p the plain elements (see plainNumber) of the
// array at i and stops at the first other element, or one beyond
// float32's range, leaving i at its start. It reports whether it read the
// whole array, closing bracket included.
func (d *decoder) plainFloat32s(p *[]float32) bool {
	b, s := d.b, *p
	defer func() { *p = s }()
	for {
		// Nine in ten of a forest's numbers are a leaf's zero weights.
		if i := d.i; i+1 < len(b) && b[i] == '0' && (b[i+1] == ',' || b[i+1] == ']') {
			s = append(s, 0)
			d.i = i + 2
			if b[i+1] == ']' {
				return true
			}
			continue
		}
		mant, frac, _, end, ok := plainNumber(b, d.i)
		if !ok {
			return false
		}
		f, ok := toFloat32(b[d.i:end], mant, frac, true)
		if !ok {
			return false // out of range: the general path words the error
		}
		s = append(s, f)
		d.i = end + 1
		if b[end] == ']' {
			return true
		}
	}
}

// plainInt32s is plainFloat32s for integers that fit an int32.
func (d *decoder) plainInt32s(p *[]int32) bool {
	b, s := d.b, *p
	defer func() { *p = s }()
	for {
		mant, frac, neg, end, ok := plainNumber(b, d.i)
		if !ok || frac != 0 || mant >= 1<<31 {
			return false
		}
		v := int32(mant)
		if neg {
			v = -v
		}
		s = append(s, v)
		d.i = end + 1
		if b[end] == ']' {
			return true
		}
	}
}

// quoted reads the string at i and returns its bytes unquoted: a slice of
// b when the string is plain ASCII or valid UTF-8 without escapes, which
// all of a model's strings are; otherwise encoding/json's unquoting, so
// that escapes, surrogates and invalid UTF-8 come out exactly as before.
func (d *decoder) quoted() ([]byte, error) {
	start := d.i
	d.i++
	plain := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			raw := d.b[start+1 : d.i-1]
			if plain && utf8.Valid(raw) {
				return raw, nil
			}
			var s string
			if err := json.Unmarshal(d.b[start:d.i], &s); err != nil {
				return nil, err // unreachable: the string was checked above
			}
			return []byte(s), nil
		case c < ' ':
			return nil, d.syntax("in string literal")
		case c == '\\':
			plain = false
			if err := d.escape(); err != nil {
				return nil, err
			}
		default:
			d.i++
		}
	}
	return nil, io.ErrUnexpectedEOF
}

// escape checks the escape sequence at i, leaving its unquoting to
// encoding/json.
func (d *decoder) escape() error {
	d.i++
	if d.i == len(d.b) {
		return io.ErrUnexpectedEOF
	}
	switch d.b[d.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		d.i++
		return nil
	case 'u':
	default:
		return d.syntax("in string escape code")
	}
	d.i++
	for range 4 {
		if d.i == len(d.b) {
			return io.ErrUnexpectedEOF
		}
		switch c := d.b[d.i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			d.i++
		default:
			return d.syntax(`in \u hexadecimal character escape`)
		}
	}
	return nil
}

func (d *decoder) str(s *string) error {
	null, err := d.value('"')
	if null || err != nil {
		return err
	}
	b, err := d.quoted()
	if err != nil {
		return err
	}
	*s = string(b)
	return nil
}

// number reads a number, checking it is spelt as JSON wants; its text
// is then d.b[start:d.i]. It returns the number's digits as an integer,
// and how many of them follow the point, when that integer is exact: no
// exponent and at most 19 digits. That is all most of a model's numbers
// need to be converted without strconv, which would read them again.
func (d *decoder) number() (mant uint64, frac int, exact bool, err error) {
	b, i := d.b, d.i
	if b[i] == '-' {
		i++
	}
	if i == len(b) {
		return 0, 0, false, io.ErrUnexpectedEOF
	}
	first := i
	switch c := b[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		mant, i = digits(b, i, 0)
	default:
		d.i = i
		return 0, 0, false, d.syntax("in numeric literal")
	}
	exact = true
	if i < len(b) && b[i] == '.' {
		i++
		if d.i = i; !isDigit(b, i) {
			return 0, 0, false, d.digitError("after decimal point in numeric literal")
		}
		start := i
		mant, i = digits(b, i, mant)
		frac = i - start
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		exact = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if d.i = i; !isDigit(b, i) {
			return 0, 0, false, d.digitError("in exponent of numeric literal")
		}
		_, i = digits(b, i, 0)
	}
	if i-first-min(frac, 1) > 19 { // the point is no digit
		exact = false
	}
	d.i = i
	return mant, frac, exact, nil
}

// digits reads the digits at b[i:] into the decimal m; m is garbage
// after 19 of them.
func digits(b []byte, i int, m uint64) (uint64, int) {
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		m = m*10 + uint64(c)
	}
	return m, i
}

func isDigit(b []byte, i int) bool { return i < len(b) && b[i]-'0' <= 9 }

// digitError reports the missing digit at i.
func (d *decoder) digitError(context string) error {
	if d.i == len(d.b) {
		return io.ErrUnexpectedEOF
	}
	return d.syntax(context)
}

// integer reads an integer of the given bits. As in encoding/json, a
// number with a fraction or an exponent is no integer, even 1.0 or 1e2.
func (d *decoder) integer(bits int) (v int64, null bool, err error) {
	if null, err = d.value('0'); null || err != nil {
		return 0, null, err
	}
	start := d.i
	mant, frac, exact, err := d.number()
	if err != nil {
		return 0, false, err
	}
	if exact && frac == 0 && mant < 1<<31 {
		v = int64(mant)
		if d.b[start] == '-' {
			v = -v
		}
		return v, false, nil
	}
	t := d.b[start:d.i]
	if v, err = strconv.ParseInt(string(t), 10, bits); err != nil {
		return 0, false, fmt.Errorf("number %s is not an int%d", t, bits)
	}
	return v, false, nil
}

func (d *decoder) int(v *int) error {
	n, null, err := d.integer(64)
	if !null && err == nil {
		*v = int(n)
	}
	return err
}

func (d *decoder) int32(v *int32) error {
	n, null, err := d.integer(32)
	if !null && err == nil {
		*v = int32(n)
	}
	return err
}

// float32 reads a number into v, refusing one beyond float32's range as
// encoding/json does.
func (d *decoder) float32(v *float32) error {
	if null, err := d.value('0'); null || err != nil {
		return err
	}
	start := d.i
	mant, frac, exact, err := d.number()
	if err != nil {
		return err
	}
	t := d.b[start:d.i]
	f, ok := toFloat32(t, mant, frac, exact)
	if !ok {
		return fmt.Errorf("number %s overflows float32", t)
	}
	*v = f
	return nil
}

// toFloat32 converts the number t, whose digits number has read as mant
// with frac of them after the point (exact: all of them), to float32; ok
// is false when it is beyond float32's range.
func toFloat32(t []byte, mant uint64, frac int, exact bool) (f float32, ok bool) {
	// A mantissa below 2^53 and a power of ten up to 1e22 are exact in
	// float64, so one division gives q, their quotient x rounded to
	// float64. Rounding q to float32 gives x rounded to float32, as
	// strconv would, unless q is a float32 midpoint (bit 28 alone of the
	// 29 bits float32 drops): no midpoint can lie strictly between x and
	// q, since a midpoint is a float64 and q is the float64 nearest x.
	// The midpoint case, rare, and everything else go to strconv. This
	// covers all of a forest's numbers; the leaf weights, of eight digits,
	// had gone to strconv, which was a tenth of a model's load.
	// -0 keeps its sign through the negation.
	if exact && mant < 1<<53 && frac < len(pow10f64) {
		q := float64(mant) / pow10f64[frac]
		if math.Float64bits(q)&(1<<29-1) != 1<<28 {
			f = float32(q)
			if t[0] == '-' {
				f = -f
			}
			return f, true
		}
	}
	v, err := strconv.ParseFloat(string(t), 32)
	return float32(v), err == nil
}
