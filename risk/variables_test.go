package risk

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// leaf is one scalar field of Signals, found by reflection.
type leaf struct {
	path  string
	index []int
	kind  reflect.Kind
}

func signalLeaves(t reflect.Type, prefix string, index []int) []leaf {
	var out []leaf
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, signalLeaves(f.Type, prefix+name+".", idx)...)
			continue
		}
		out = append(out, leaf{prefix + name, idx, f.Type.Kind()})
	}
	return out
}

// TestVariablesMatchJSON checks that rules see every field of Signals under
// its JSON path, with the matching CEL type, reading the right field.
func TestVariablesMatchJSON(t *testing.T) {
	leaves := signalLeaves(reflect.TypeFor[Signals](), "", nil)
	if len(leaves) != len(variables) {
		t.Errorf("Signals has %d fields, rules see %d variables", len(leaves), len(variables))
	}
	celTypes := map[reflect.Kind]*cel.Type{
		reflect.Int64: cel.IntType, reflect.Float64: cel.DoubleType,
		reflect.String: cel.StringType, reflect.Bool: cel.BoolType,
	}
	for n, l := range leaves {
		v, ok := variableIndex[l.path]
		if !ok {
			t.Errorf("field %s is not a variable", l.path)
			continue
		}
		if want := celTypes[l.kind]; want == nil || !v.typ.IsExactType(want) {
			t.Errorf("variable %s is of type %s, its field is a Go %s", l.path, v.typ, l.kind)
			continue
		}
		// Give this field (and only it) a distinctive value and read it back.
		var s Signals
		f := reflect.ValueOf(&s).Elem().FieldByIndex(l.index)
		var want any
		switch l.kind {
		case reflect.Int64:
			f.SetInt(int64(1000 + n))
			want = types.Int(1000 + n)
		case reflect.Float64:
			f.SetFloat(float64(n) + 0.5)
			want = types.Double(float64(n) + 0.5)
		case reflect.String:
			f.SetString(l.path)
			want = types.String(l.path)
		case reflect.Bool:
			f.SetBool(true)
			want = types.True
		}
		if got := v.get(&s); got != want {
			t.Errorf("variable %s reads %v, want %v", l.path, got, want)
		}
	}
	if _, ok := (activation{s: &Signals{}}).ResolveName("payment"); ok {
		t.Error("the activation resolves a name that is not a variable")
	}
}
