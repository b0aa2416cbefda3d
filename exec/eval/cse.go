package eval

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sqld/sqld/planner"
)

// Common subexpressions. Queries repeat expressions: a CASE tests
// extract(hour FROM t) four times, or lower(channel) against each of its
// values. When one compiled expression holds several equal
// subexpressions (same functions, types, columns and constants, nothing
// volatile), they compile to one sharedNode, which computes its value over
// an evaluation's whole input once and hands the same array to every
// occurrence. Evaluations over a subset of the rows (CASE branches, the
// right side of AND/OR) compute it afresh, so sharing never evaluates an
// expression on rows the unshared one would not.

// compiler is the state of compiling one expression.
type compiler struct {
	keys   map[planner.Expr]string // the key of every shareable node
	count  map[string]int          // occurrences per key
	shared map[string]*sharedNode
}

// newCompiler prepares the compilation of e: it finds the subexpressions
// that occur more than once.
func newCompiler(e planner.Expr) *compiler {
	cp := &compiler{keys: map[planner.Expr]string{}, count: map[string]int{}, shared: map[string]*sharedNode{}}
	cp.key(e)
	return cp
}

// dup returns the key of e when e is a shareable subexpression that occurs
// more than once.
func (cp *compiler) dup(e planner.Expr) (string, bool) {
	k, ok := cp.keys[e]
	if !ok || cp.count[k] < 2 {
		return "", false
	}
	return k, true
}

// key returns a string that is equal for equal expressions, and records
// the keys of the nodes worth sharing; ok is false when e must not be
// shared (it holds a subquery, an outer reference or a volatile call).
func (cp *compiler) key(e planner.Expr) (k string, ok bool) {
	var b strings.Builder
	ok = true
	args := func(xs ...planner.Expr) {
		for _, x := range xs {
			xk, xok := cp.key(x)
			ok = ok && xok
			b.WriteByte(' ')
			b.WriteString(xk)
		}
		b.WriteByte(')')
	}
	share := false
	switch e := e.(type) {
	case *planner.ColRef:
		fmt.Fprintf(&b, "c%d:%s", e.Idx, e.Typ)
	case *planner.Const:
		// %#v tells apart values that print alike (1 and "1").
		fmt.Fprintf(&b, "k%#v:%s", e.Val, e.Typ)
	case *planner.ParamRef:
		fmt.Fprintf(&b, "p%d:%s", e.Idx, e.Typ)
	case *planner.Call:
		ok = !e.Fn.Volatile
		fmt.Fprintf(&b, "(%s:%s:%v", strconv.Quote(e.Fn.Name), e.Fn.Ret, e.Fn.Args)
		args(e.Args...)
		share = true
	case *planner.Cast:
		fmt.Fprintf(&b, "(cast:%s", e.To)
		args(e.X)
		share = true
	case *planner.IsNull:
		fmt.Fprintf(&b, "(isnull:%v", e.Not)
		args(e.X)
		share = true
	case *planner.InList:
		fmt.Fprintf(&b, "(in:%v", e.Not)
		args(append([]planner.Expr{e.X}, e.List...)...)
		share = true
	case *planner.Case:
		fmt.Fprintf(&b, "(case:%s", e.Typ)
		for _, w := range e.Whens {
			args(w.Cond, w.Result)
		}
		if e.Else != nil {
			args(e.Else)
		}
		b.WriteByte(')')
		share = true
	default:
		// Subqueries, outer references: never shared.
		return fmt.Sprintf("%p", e), false
	}
	k = b.String()
	if ok && share {
		cp.keys[e] = k
		cp.count[k]++
	}
	return k, ok
}

// sharedNode computes x once per evaluation over the whole input.
type sharedNode struct{ x node }

func (nd *sharedNode) eval(c *ctx, in *input) (vec, error) {
	if in != c.root || in == nil {
		return nd.x.eval(c, in)
	}
	if v, ok := c.shared[nd]; ok {
		if v.arr != nil {
			v.arr.Retain()
		}
		return v, nil
	}
	v, err := nd.x.eval(c, in)
	if err != nil {
		return vec{}, err
	}
	if c.shared == nil {
		c.shared = map[*sharedNode]vec{}
	}
	if v.arr != nil {
		v.arr.Retain()
	}
	c.shared[nd] = v
	return v, nil
}

// releaseShared drops the values of shared subexpressions at the end of
// an evaluation.
func (c *ctx) releaseShared() {
	for _, v := range c.shared {
		v.release()
	}
	c.shared = nil
}

// info is the package info of e, with the shared subexpressions that
// would make an unsafe e safe.
func (cp *compiler) info(e planner.Expr, nd node) nodeInfo {
	ni := info(e, nd)
	if ni.safe || len(cp.shared) == 0 {
		return ni
	}
	var need []*sharedNode
	if cp.safeGiven(e, &need) && len(need) > 0 {
		ni.safeIf = need
	}
	return ni
}

// safeGiven reports whether e cannot fail once the shared subexpressions
// it adds to need are computed; it follows isSafe's rules otherwise.
func (cp *compiler) safeGiven(e planner.Expr, need *[]*sharedNode) bool {
	if k, ok := cp.dup(e); ok {
		if sn := cp.shared[k]; sn != nil {
			*need = append(*need, sn)
			return true
		}
	}
	all := func(xs ...planner.Expr) bool {
		for _, x := range xs {
			if !cp.safeGiven(x, need) {
				return false
			}
		}
		return true
	}
	switch x := e.(type) {
	case *planner.ColRef, *planner.Const, *planner.ParamRef, *planner.OuterRef:
		return true
	case *planner.IsNull:
		return all(x.X)
	case *planner.InList:
		return all(x.X) && all(x.List...)
	case *planner.Case:
		for _, w := range x.Whens {
			if !all(w.Cond, w.Result) {
				return false
			}
		}
		return x.Else == nil || all(x.Else)
	case *planner.Call:
		return callSafe(x) && all(x.Args...)
	case *planner.Cast:
		return isSafe(&planner.Cast{X: &planner.Const{Typ: x.X.Type()}, To: x.To}) && all(x.X)
	}
	return false
}

// safeNow reports whether the node, unsafe in general, cannot fail over
// in: in is the whole input and every shared value it needs is computed.
func (ni nodeInfo) safeNow(c *ctx, in *input) bool {
	if len(ni.safeIf) == 0 || in != c.root {
		return false
	}
	for _, sn := range ni.safeIf {
		if _, ok := c.shared[sn]; !ok {
			return false
		}
	}
	return true
}
