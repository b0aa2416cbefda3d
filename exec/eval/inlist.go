package eval

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/planner"
)

// inNode evaluates X [NOT] IN (list) with SQL's NULL rules: TRUE if X
// equals an element; otherwise NULL if X or any element is NULL; else
// FALSE (NOT IN negates that). A list of constants is a hash set.
type inNode struct {
	x     node
	t     catalog.Type
	list  []node
	set   map[any]bool        // all-constant lists: the non-NULL keys
	strs  map[string]struct{} // the same keys when all are strings
	nulls bool                // the constant list holds a NULL
	not   bool
}

func (cp *compiler) compileInList(e *planner.InList) (node, error) {
	x, err := cp.compile(e.X)
	if err != nil {
		return nil, err
	}
	nd := &inNode{x: x, t: e.X.Type(), not: e.Not}
	allConst := true
	for _, it := range e.List {
		if _, ok := it.(*planner.Const); !ok {
			allConst = false
		}
	}
	if allConst && len(e.List) > 0 {
		nd.set = map[any]bool{}
		for _, it := range e.List {
			c := it.(*planner.Const)
			if c.Val == nil {
				nd.nulls = true
				continue
			}
			v := c.Val
			if c.Typ != nd.t {
				if v, err = castValue(v, c.Typ, nd.t, false); err != nil {
					return nil, err
				}
			}
			nd.set[hashKey(v)] = true
		}
		nd.strs = map[string]struct{}{}
		for k := range nd.set {
			s, ok := k.(string)
			if !ok {
				nd.strs = nil
				break
			}
			nd.strs[s] = struct{}{}
		}
		return nd, nil
	}
	for _, it := range e.List {
		l, err := cp.compile(it)
		if err != nil {
			return nil, err
		}
		if it.Type() != nd.t && it.Type().ID != nd.t.ID {
			l = &castNode{x: l, from: it.Type(), to: nd.t}
		}
		nd.list = append(nd.list, l)
	}
	return nd, nil
}

func (nd *inNode) eval(c *ctx, in *input) (vec, error) {
	xv, err := nd.x.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	defer xv.release()
	lv := make([]vec, len(nd.list))
	defer func() {
		for _, v := range lv {
			v.release()
		}
	}()
	for i, l := range nd.list {
		if lv[i], err = l.eval(c, in); err != nil {
			return vec{}, err
		}
	}
	if sa, ok := xv.arr.(*array.String); ok && nd.strs != nil {
		return vec{arr: inStrings(c.alloc, sa, nd.strs, nd.nulls, nd.not), n: in.n}, nil
	}
	// test returns (result, isNull) for row i.
	test := func(i int) (bool, bool) {
		x := xv.value(nd.t, i)
		if x == nil {
			return false, true
		}
		sawNull := nd.nulls
		if nd.set != nil {
			if nd.set[hashKey(x)] {
				return true, false
			}
			return false, sawNull
		}
		for _, v := range lv {
			y := v.value(nd.t, i)
			if y == nil {
				sawNull = true
				continue
			}
			if CompareValues(nd.t, x, y) == 0 {
				return true, false
			}
		}
		return false, sawNull
	}
	constant := xv.isConst()
	for _, v := range lv {
		constant = constant && v.isConst()
	}
	if constant {
		r, null := test(0)
		if null {
			return constVec(nil, in.n), nil
		}
		return constVec(r != nd.not, in.n), nil
	}
	vals := newBitmap(c.alloc, in.n, false)
	valid := newBitmap(c.alloc, in.n, true)
	vb, db := vals.Bytes(), valid.Bytes()
	nulls := 0
	for i := 0; i < in.n; i++ {
		r, null := test(i)
		if null {
			bitutil.ClearBit(db, i)
			nulls++
			continue
		}
		if r != nd.not {
			bitutil.SetBit(vb, i)
		}
	}
	if nulls == 0 {
		valid.Release()
		valid = nil
	}
	return vec{arr: boolArray(in.n, vals, valid, nulls), n: in.n}, nil
}

// inStrings is x [NOT] IN (constant strings) over a text array: a set
// lookup per row without boxing. listNull says the list holds a NULL, which
// makes a row that matches nothing NULL.
func inStrings(alloc memory.Allocator, sa *array.String, set map[string]struct{}, listNull, not bool) arrow.Array {
	n := sa.Len()
	vals := newBitmap(alloc, n, false)
	vb := vals.Bytes()
	for i := 0; i < n; i++ {
		if _, ok := set[sa.Value(i)]; ok != not {
			bitutil.SetBit(vb, i)
		}
	}
	var valid *memory.Buffer
	nulls := 0
	switch {
	case listNull:
		// Only rows that match are non-NULL (TRUE, or FALSE for NOT IN).
		valid = newBitmap(alloc, n, false)
		db := valid.Bytes()
		for i := 0; i < n; i++ {
			if _, ok := set[sa.Value(i)]; ok && sa.IsValid(i) {
				bitutil.SetBit(db, i)
			} else {
				nulls++
			}
		}
	case sa.NullN() > 0:
		valid = validCopy(alloc, sa)
		nulls = sa.NullN()
	}
	return boolArray(n, vals, valid, nulls)
}
