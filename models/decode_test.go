package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// referenceDecode is how Read decoded a model before decodeFile, kept as
// the reference decodeFile must agree with: encoding/json, strict about
// unknown keys and trailing data, with a key check of its own because
// encoding/json matches keys regardless of case.
func referenceDecode(b []byte) (File, error) {
	var m File
	if err := referenceCheckKeys(b); err != nil {
		return m, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, err
	}
	if err := dec.Decode(&json.RawMessage{}); err != io.EOF {
		return m, fmt.Errorf("data after the model")
	}
	return m, nil
}

func referenceCheckKeys(b []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil // Decode reports it
	}
	exact := func(m map[string]json.RawMessage, keys ...string) error {
		for k := range m {
			if !slices.Contains(keys, k) {
				return fmt.Errorf("unknown key %q", k)
			}
		}
		return nil
	}
	if err := exact(top, "format", "version", "kind", "description", "features", "classes", "trees"); err != nil {
		return err
	}
	var trees []map[string]json.RawMessage
	if json.Unmarshal(top["trees"], &trees) != nil {
		return nil
	}
	for i, t := range trees {
		if err := exact(t, "feature", "threshold", "left", "right", "value"); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
	}
	return nil
}

// treeKeyInAnotherCase matches decodeFile's error for the one input it
// deliberately rejects and referenceDecode accepts: a tree key in another
// case than the schema's ("Feature") in a "trees" array that a later
// "trees" key replaces. referenceCheckKeys looked only at the last
// "trees", encoding/json matched the key regardless of case, and what it
// decoded stayed wherever the later array's tree was null or left that
// key out. A model file is spelt one way, in every tree; nothing writes
// such a file, and refusing it is what the key check was for.
var treeKeyInAnotherCase = regexp.MustCompile(`^tree \d+: unknown key (".*")$`)

// checkDecoders decodes data both ways and fails unless they agree on
// whether it is a model file and, if so, on the File.
func checkDecoders(t *testing.T, data []byte) (File, error) {
	t.Helper()
	var got File
	err := decodeFile(data, &got)
	want, wantErr := referenceDecode(data)
	switch {
	case err != nil && wantErr != nil:
	case err == nil && wantErr == nil:
		if !sameFile(got, want) {
			t.Fatalf("decodeFile(%q)\n= %+v\nencoding/json: %+v", data, got, want)
		}
	case wantErr == nil && treeKeyInAnotherCase.MatchString(err.Error()):
		// The deliberate difference above: encoding/json accepted the key
		// only because it matched it to a field regardless of case.
		k, _ := strconv.Unquote(treeKeyInAnotherCase.FindStringSubmatch(err.Error())[1])
		if !slices.ContainsFunc([]string{"feature", "threshold", "left", "right", "value"}, func(f string) bool {
			return strings.EqualFold(f, k) // by Unicode's simple folding, as encoding/json matches
		}) {
			t.Fatalf("decodeFile(%q): %v, but encoding/json accepted it", data, err)
		}
	default:
		t.Fatalf("decodeFile(%q): %v; encoding/json: %v", data, err, wantErr)
	}
	return got, err
}

// sameFile is reflect.DeepEqual, which also tells a nil slice from an
// empty one, and the JSON encodings, which tell -0 from 0.
func sameFile(a, b File) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return reflect.DeepEqual(a, b) && err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func TestDecodeMatchesJSON(t *testing.T) {
	shipped, err := os.ReadFile("../configs/model.json")
	if err != nil {
		t.Fatal(err)
	}
	trained := mustTrain(t, synthetic(200, 21), TrainConfig{Trees: 5, MaxDepth: 6, Seed: 7})
	trained.Description = "synthetic \"quoted\" \\ tab\t newline\n <&> é ☃ 𝄞 \u2028 \x7f"
	var written bytes.Buffer
	if err := trained.Write(&written); err != nil {
		t.Fatal(err)
	}
	spaced := strings.NewReplacer("{", " {\r\n\t", ",", " ,\n ", ":", "\t:  ", "[", "[ ", "]", " ]\n", "}", "\n}\t").Replace(validModel)
	valid := []struct{ name, json string }{
		{"validModel", validModel},
		{"shipped", string(shipped)},
		{"trained and written", written.String()},
		{"white space between every token", "\n\t " + spaced + " \r\n"},
		{"keys reordered", `{"trees":[{"value":[[3,1],[0,2]],"right":[2,-1,-1],"left":[1,0,1],"threshold":[0.5,0,0],"feature":[1,-1,-1]}],` +
			`"classes":["dns","tor"],"features":["a","b"],"description":"x","kind":"decision_tree","version":1,"format":"tunnelscope-model"}`},
		{"escapes", `{"description":"\"\\\/\b\f\n\r\t\u0041\u00e9\u2603\ud834\udd1e","features":["\u0061","b\/c"]}`},
		{"lone and reversed surrogates", `{"description":"\ud800 \udc00x \udd1e\ud834 \ud800\u0041"}`},
		{"invalid UTF-8", "{\"description\":\"\xff\xfe a\xc3 \xed\xa0\x80 \xe2\x98\",\"features\":[\"\xc0\xaf\"]}"},
		{"escaped key", `{"form\u0061t":"tunnelscope-model","\u0074rees":[{"v\u0061lue":[]}]}`},
		{"unicode and control-free strings", `{"description":"é ☃ 𝄞 \u007f` + "\x7f" + `"}`},
		{"nulls", `{"format":null,"version":null,"kind":null,"description":null,"features":null,"classes":null,` +
			`"trees":[null,{"feature":null,"threshold":[null,1],"left":[null],"right":null,"value":[null,[null,2]]}]}`},
		{"null model", `null`},
		{"empty object", ` {} `},
		{"empty arrays", `{"features":[],"classes":[ ],"trees":[{"feature":[],"value":[[],[ ]]}]}`},
		// A repeated key decodes into what the first one left, so nulls
		// in the second array keep the first's elements; [] and null
		// start afresh.
		{"repeated keys", `{"version":1,"version":2,"format":"a","format":null,"features":["a","b","c"],"features":["x",null],` +
			`"classes":["a"],"classes":[],"classes":[null,null],` +
			`"trees":[{"feature":[1,2,3],"value":[[1,2,3]]},{"left":[4]}],"trees":[null,{"feature":[5]}],` +
			`"trees":[{"threshold":[1]},null,null]}`},
		{"repeated null", `{"features":["a"],"features":null,"features":[null]}`},
		{"numbers", `{"version":-0,"trees":[{"feature":[2147483647,-2147483648,-0,0],` +
			`"threshold":[-0,0.0,1E2,1e-2,-1.5e+3,3.4028234e38,-3.4028234e38,1e-46,1.401298464324817e-45,16777217,123456789012345678901234567890,0.1,0.30000001,1.00000000000000000000001],` +
			`"value":[[0.000001,9999999,16777216,-16777215,1.0000001,0.33333334]]}]}`},
		// Arrays read partly by the plain-number loop and partly by the
		// general path, which takes over at white space, an exponent, a
		// null or a number the loop does not take, and runs to the end.
		{"plain and general numbers mixed", `{"trees":[{"feature":[1,-0,2147483647,-2147483648,3],` +
			`"left":[1,2 ,3,null,4],"right":[0,1],` +
			`"threshold":[1,-0,0.25,16777216.5,1234567890123456789,12345678901234567890,3e0,4, 5,null,6,-0.0000000001,0.00000000001],` +
			`"value":[[0,0,24.045118],[0 ,1],[0.1,3.4028234e38]]}]}`},
		{"int64 version", `{"version":9223372036854775807}`},
		{"negative int64 version", `{"version":-9223372036854775808}`},
	}
	for _, c := range valid {
		t.Run(c.name, func(t *testing.T) {
			if _, err := checkDecoders(t, []byte(c.json)); err != nil {
				t.Fatalf("decodeFile: %v", err)
			}
		})
	}
	// The old path read what its Write wrote and the shipped model to the
	// same File; so does the new one, and Read takes them.
	if _, err := Read(bytes.NewReader(shipped)); err != nil {
		t.Errorf("Read(shipped): %v", err)
	}
	if _, err := Read(bytes.NewReader(written.Bytes())); err != nil {
		t.Errorf("Read(written): %v", err)
	}
}

// Inputs both decoders reject, with what decodeFile's error says.
func TestDecodeRejectsAsJSON(t *testing.T) {
	tree := func(s string) string { return `{"trees":[` + s + `]}` }
	for _, c := range []struct{ json, want string }{
		{``, "EOF"},
		{" \n\t\r", "EOF"},
		{`{`, "unexpected EOF"},
		{`{"format"`, "unexpected EOF"},
		{`{"format":`, "unexpected EOF"},
		{`{"format":"tunnel`, "unexpected EOF"},
		{`{"version":-`, "unexpected EOF"},
		{`{"version":1.`, "unexpected EOF"},
		{`{"version":1e`, "unexpected EOF"},
		{`{"version":1e+`, "unexpected EOF"},
		{`{"version":1`, "unexpected EOF"},
		{`{"version":nul`, "unexpected EOF"},
		{`{"description":"\u12`, "unexpected EOF"},
		{`{"description":"\`, "unexpected EOF"},
		{`{"trees":[{"feature":[1,`, "unexpected EOF"},
		{`{"trees":[{"threshold":[1,2`, "unexpected EOF"},
		{`{"trees":[{"threshold":[1,2]`, "unexpected EOF"},
		{`{"trees":[{"right":[0,1,1e0]}]}`, "right 2: number 1e0 is not an int32"},
		{`{"trees":[{"left":[0,2147483648]}]}`, "left 1: number 2147483648 is not an int32"},
		{`{"trees":[{"feature":[0,01]}]}`, "after array element"},
		{`{"trees":[{"threshold":[0.5,3.4028236e38]}]}`, "threshold 1: number 3.4028236e38 overflows float32"},
		{`{"trees":[{"threshold":[0.5,1.]}]}`, "after decimal point"},
		{`{"trees":[{"value":[[0,-]]}]}`, "in numeric literal"},
		{`[]`, "an array where an object belongs"},
		{`"model"`, "a string where an object belongs"},
		{`1`, "a number where an object belongs"},
		{`true`, "a boolean where an object belongs"},
		{`nulL`, "invalid character 'L' in literal null"},
		{`tunnelscope model v1`, "invalid character"},
		{`{"version":"1"}`, "version: a string where a number belongs"},
		{`{"version":true}`, "version: a boolean"},
		{`{"version":1.5}`, "version: number 1.5 is not an int64"},
		{`{"version":1e2}`, "version: number 1e2 is not an int64"},
		{`{"version":1.0}`, "version: number 1.0 is not an int64"},
		{`{"version":9223372036854775808}`, "not an int64"},
		{`{"version":01}`, "invalid character '1' after object key:value pair"},
		{`{"version":+1}`, "invalid character '+' looking for beginning of value"},
		{`{"version":.5}`, "invalid character '.' looking for beginning of value"},
		{`{"version":1.}`, "invalid character '}' after decimal point in numeric literal"},
		{`{"version":1e}`, "invalid character '}' in exponent of numeric literal"},
		{`{"version":-}`, "invalid character '}' in numeric literal"},
		{`{"version":0x1}`, "invalid character 'x' after object key:value pair"},
		{`{"version":Infinity}`, "invalid character 'I' looking for beginning of value"},
		{`{"version":1,}`, "invalid character '}' looking for beginning of object key string"},
		{`{"version" 1}`, "invalid character '1' after object key"},
		{`{'version':1}`, `invalid character '\''`},
		{`{"format":"a` + "\n" + `"}`, `invalid character '\n' in string literal`},
		{`{"format":"a` + "\x00" + `"}`, `invalid character '\x00' in string literal`},
		{`{"format":"\a"}`, "invalid character 'a' in string escape code"},
		{`{"format":"\u12G4"}`, `invalid character 'G' in \u hexadecimal character escape`},
		{`{"format":"\U1234"}`, "invalid character 'U' in string escape code"},
		{`{"format":1}`, "format: a number where a string belongs"},
		{`{"features":"a"}`, "features: a string where an array belongs"},
		{`{"features":["a",1]}`, "feature 1: a number where a string belongs"},
		{`{"features":["a",]}`, "invalid character ']' looking for beginning of value"},
		{`{"features":["a" "b"]}`, "invalid character '\"' after array element"},
		{`{"classes":{}}`, "classes: an object where an array belongs"},
		{`{"depth":3}`, `unknown key "depth"`},
		{`{"Format":"tunnelscope-model"}`, `unknown key "Format"`},
		{`{"formaт":""}`, `unknown key "formaт"`},
		{`{"\u0046ormat":""}`, `unknown key "Format"`},
		{`{"trees":{}}`, "trees: an object where an array belongs"},
		{tree(`[]`), "tree 0: an array where an object belongs"},
		{tree(`{},{"weight":[]}`), `tree 1: unknown key "weight"`},
		{tree(`{"Value":[]}`), `tree 0: unknown key "Value"`},
		{tree(`{"feature":[1,2147483648]}`), "tree 0: feature 1: number 2147483648 is not an int32"},
		{tree(`{"left":[-2147483649]}`), "tree 0: left 0: number -2147483649 is not an int32"},
		{tree(`{"right":[1.5]}`), "tree 0: right 0: number 1.5 is not an int32"},
		{tree(`{"feature":[1e0]}`), "not an int32"},
		{tree(`{"threshold":[0.5,1e39]}`), "tree 0: threshold 1: number 1e39 overflows float32"},
		{tree(`{"threshold":[-3.5e38]}`), "overflows float32"},
		{tree(`{"threshold":[1e400]}`), "overflows float32"},
		{tree(`{"threshold":["0.5"]}`), "tree 0: threshold 0: a string where a number belongs"},
		{tree(`{"value":[[1],[2,1e39]]}`), "tree 0: value 1: class 1: number 1e39 overflows float32"},
		{tree(`{"value":[1]}`), "tree 0: value 0: a number where an array belongs"},
		{`{} {}`, "data after the model"},
		{`{}x`, "data after the model"},
		{`{}]`, "data after the model"},
		{`{}}`, "data after the model"},
		{`null null`, "data after the model"},
		{"\xef\xbb\xbf{}", "invalid character 'ï' looking for beginning of value"},
		// encoding/json checked the syntax of the whole value before its
		// fit, and so does decodeFile in effect: a misfit before a syntax
		// error is reported as the syntax error.
		{`{"version":"1","format":x}`, "invalid character 'x' looking for beginning of value"},
		{`{"depth":1,"format":"a`, "unexpected EOF"},
	} {
		t.Run(c.json, func(t *testing.T) {
			_, err := checkDecoders(t, []byte(c.json))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("decodeFile(%q) = %v, want an error mentioning %q", c.json, err, c.want)
			}
		})
	}
}

// The one deliberate difference from the old decoding, described at
// treeKeyInAnotherCase.
func TestDecodeTreeKeyInAnotherCase(t *testing.T) {
	in := `{"trees":[{"Feature":[1,-1,-1]}],"trees":[null]}`
	if _, err := referenceDecode([]byte(in)); err != nil {
		t.Fatalf("the old decoding now rejects %s: %v; drop the exception", in, err)
	}
	var m File
	if err := decodeFile([]byte(in), &m); err == nil || err.Error() != `tree 0: unknown key "Feature"` {
		t.Errorf("decodeFile(%s) = %v, want tree 0: unknown key \"Feature\"", in, err)
	}
	checkDecoders(t, []byte(in))
}

// FuzzDecodeMatchesJSON holds decodeFile to the old encoding/json
// decoding on any input: both accept it and decode the same File, or
// both reject it (save the one difference at treeKeyInAnotherCase).
func FuzzDecodeMatchesJSON(f *testing.F) {
	m, err := Train(synthetic(60, 13), TrainConfig{Trees: 2, MaxDepth: 3, Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	m.Description = "a \"b\" \\ é \u2603 \U0001d11e"
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(validModel))
	f.Add([]byte(`{"features":["a","b"],"features":[null],"trees":[{"Value":[]}],"trees":[null]}`))
	f.Add([]byte(`{"trees":[{"threshold":[1e39,-0,1.5e-3,16777217],"feature":[2147483648,1.0,-0]}]}`))
	f.Add([]byte(`{"description":"\ud834\udd1e\ud800\u00e9` + "\xff" + `"} `))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecoders(t, data)
	})
}

// toFloat32 rounds as strconv does: random decimals of every length the
// fast path takes, float32 midpoints (where rounding q again would go
// wrong, so strconv must take them) and their neighbours.
func TestToFloat32MatchesStrconv(t *testing.T) {
	check := func(s string) {
		t.Helper()
		mant, frac, _, end, ok := plainNumber([]byte(s+","), 0)
		if !ok || end != len(s) {
			t.Fatalf("%s: not a plain number", s)
		}
		want, err := strconv.ParseFloat(s, 32)
		got, ok := toFloat32([]byte(s), mant, frac, true)
		if !ok || err != nil || math.Float32bits(got) != math.Float32bits(float32(want)) {
			t.Errorf("%s: %v (ok %v), strconv %v (%v)", s, got, ok, float32(want), err)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		digits := 1 + rng.IntN(17)
		m := rng.Uint64N(pow10u(digits))
		s := strconv.FormatUint(m, 10)
		if f := rng.IntN(min(len(s), 22) + 1); f > 0 && f < len(s) {
			s = s[:len(s)-f] + "." + s[len(s)-f:]
		}
		if rng.IntN(2) == 0 {
			s = "-" + s
		}
		check(s)
	}
	// Decimals that round to a float32 midpoint in float64 but are not one
	// (16 digits within a float64 half-ulp of a midpoint in [8, 10)): q
	// rounded again would tie to even where the decimal is on one side.
	for range 2000 {
		f := float32(8 + 2*rng.Float64())
		m := (float64(f) + float64(math.Nextafter32(f, 10))) / 2
		check(strconv.FormatFloat(m, 'f', 15, 64))
	}
	// Odd integers between 2^24 and 2^25 are float32 midpoints, as are
	// their halves, quarters, ... written with a fraction.
	for _, m := range []uint64{1<<24 + 1, 1<<24 + 3, 1<<25 - 1, 3<<23 + 5} {
		v := float64(m)
		for range 12 {
			s := strconv.FormatFloat(v, 'f', -1, 64)
			check(s)
			check(s + "0")
			v /= 2
		}
		check(strconv.FormatUint(m-1, 10))
		check(strconv.FormatUint(m+1, 10))
	}
}

func pow10u(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}
