package metrics

import (
	"slices"
	"strconv"
	"strings"
)

// The text exposition format (version 0.0.4) is written here rather than
// through client_golang: every tunnelscope command links this package,
// and client_golang's package initialisers (its default registry builds Go
// and process collectors, procfs compiles its expressions) cost every
// process 0.8 ms and 78 page faults before main, a seventh of a classify
// run's fixed cost. The format is a few lines per family; promtool and
// Prometheus's own parser check what this writes (metrics_test.go).

// ContentType is what Handler serves: the text format's media type.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

type metricType string

const (
	counter metricType = "counter"
	gauge   metricType = "gauge"
)

// family is one metric family of a scrape: its samples in the order they
// were added, each label value list in the order of labels.
type family struct {
	name, help string
	typ        metricType
	labels     []string
	order      []int // labels' indices in name order, the order a sample's labels are written in
	samples    []sample
}

type sample struct {
	values []string
	v      float64
}

func newFamily(name string, typ metricType, help string, labels ...string) *family {
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	return &family{name: name, typ: typ, help: help, labels: labels, order: order}
}

// add appends a sample; it panics on a label count mismatch, which is a
// bug in this package, never in what it reports.
func (f *family) add(v float64, values ...string) {
	if len(values) != len(f.labels) {
		panic("metrics: " + f.name + ": " + strconv.Itoa(len(values)) + " label values for " + strconv.Itoa(len(f.labels)) + " labels")
	}
	f.samples = append(f.samples, sample{values: values, v: v})
}

// appendExposition writes the families in name order, each with its HELP
// and TYPE lines; a family without samples is left out, as a scrape of
// client_golang leaves it, so that an absent series reads as absent.
func appendExposition(b []byte, fams []*family) []byte {
	fams = slices.Clone(fams)
	slices.SortFunc(fams, func(a, c *family) int { return strings.Compare(a.name, c.name) })
	for _, f := range fams {
		if len(f.samples) == 0 {
			continue
		}
		b = append(b, "# HELP "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = appendEscaped(b, f.help, false)
		b = append(b, "\n# TYPE "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = append(b, f.typ...)
		b = append(b, '\n')
		for _, s := range f.samples {
			b = append(b, f.name...)
			if len(f.labels) > 0 {
				b = append(b, '{')
				for k, i := range f.order {
					if k > 0 {
						b = append(b, ',')
					}
					b = append(b, f.labels[i]...)
					b = append(b, `="`...)
					b = appendEscaped(b, s.values[i], true)
					b = append(b, '"')
				}
				b = append(b, '}')
			}
			b = append(b, ' ')
			b = appendValue(b, s.v)
			b = append(b, '\n')
		}
	}
	return b
}

// appendEscaped escapes s as the format asks: backslash and line feed in
// HELP text, and the double quote too in a label value.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendValue writes v as Go's shortest round-tripping form, which is what
// the format's parsers read; infinities and NaN come out as the format's
// "+Inf", "-Inf" and "NaN".
func appendValue(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
