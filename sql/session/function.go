package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqld/sqld/catalog"
	"github.com/sqld/sqld/connectors/widecol"
	"github.com/sqld/sqld/planner"
	"github.com/sqld/sqld/sql/ast"
	"github.com/sqld/sqld/sql/parser"
	"github.com/sqld/sqld/sql/pgerror"
)

// functionsTable holds the user-defined functions, keyed by signature.
const functionsTable = "functions"

// funcSet is the user-defined functions by name, each with its overloads.
type funcSet map[string][]*planner.UserFunc

// Functions implements planner.FunctionCatalog.
func (e *Engine) Functions(name string) []*planner.UserFunc {
	e.funcMu.RLock()
	defer e.funcMu.RUnlock()
	return e.funcs[name]
}

// Functions implements planner.FunctionCatalog for binding under e.mu
// (functions have their own lock).
func (c lockedCatalog) Functions(name string) []*planner.UserFunc { return c.e.Functions(name) }

// loadFunctions reads the stored functions. Bodies were checked when the
// functions were created; they are parsed again here.
func (e *Engine) loadFunctions(ctx context.Context) error {
	t, err := e.store.Table(keyspaceSystem, functionsTable)
	if errors.Is(err, widecol.ErrTableNotFound) {
		schema := arrow.NewSchema([]arrow.Field{
			{Name: "signature", Type: arrow.BinaryTypes.String},
			{Name: "def", Type: arrow.BinaryTypes.Binary, Nullable: true},
		}, nil)
		t, err = e.store.CreateTable(ctx, widecol.TableSpec{
			Keyspace: keyspaceSystem, Name: functionsTable, Schema: schema, PartitionKey: []string{"signature"},
		})
	}
	if err != nil {
		return fmt.Errorf("session: functions table: %w", err)
	}
	e.funcTab = t
	e.funcs = funcSet{}
	it, err := e.store.Scan(ctx, t, widecol.Range{}, nil)
	if err != nil {
		return fmt.Errorf("session: read functions: %w", err)
	}
	defer it.Close()
	for {
		b, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("session: read functions: %w", err)
		}
		defs := b.Column(1).(*array.Binary)
		for i := 0; i < int(b.NumRows()); i++ {
			def, err := catalog.DecodeFunction(defs.Value(i))
			if err == nil {
				var uf *planner.UserFunc
				if uf, err = planner.LoadFunction(def); err == nil {
					e.funcs[def.Name] = append(e.funcs[def.Name], uf)
					continue
				}
			}
			b.Release()
			return fmt.Errorf("session: function: %w", err)
		}
		b.Release()
	}
}

// createFunction is CREATE [OR REPLACE] FUNCTION ... LANGUAGE SQL.
func (s *Session) createFunction(ctx context.Context, x *ast.CreateFunction, text string) (string, []arrow.RecordBatch, error) {
	const tag = "CREATE FUNCTION"
	uf, err := planner.DefineFunction(x, text)
	if err != nil {
		return "", nil, err
	}
	def := uf.Def
	e := s.eng
	// DDL is serialised by e.mu; funcMu only guards the map readers use.
	e.mu.Lock()
	defer e.mu.Unlock()
	sig := def.Signature()
	old := e.findFunction(def.Name, def.ArgTypes())
	if old != nil {
		if !x.OrReplace {
			return "", nil, pgerror.New(pgerror.CodeDuplicateFunction, "function %q already exists with same argument types", def.Name)
		}
		if old.Def.Ret != def.Ret {
			return "", nil, pgerror.New(pgerror.CodeInvalidFunctionDefinition, "cannot change return type of existing function").
				WithHint("Use DROP FUNCTION %s first.", sig)
		}
		if deps := e.functionDependentsLocked(sig); len(deps) > 0 {
			return "", nil, pgerror.New(pgerror.CodeDependentObjectsStillExist, "cannot replace function %s because other objects depend on it", sig).
				WithDetail("view %s depends on function %s", deps[0], sig).
				WithHint("Views inline the function's body; drop them first, or create the function under another name.")
		}
	}
	if err := planner.CheckFunctionBody(overlayFuncs{lockedCatalog{e}, uf}, uf); err != nil {
		return "", nil, err
	}
	enc, err := def.Encode()
	if err != nil {
		return "", nil, err
	}
	b := e.store.NewBatch()
	defer b.Close()
	if err := b.UpsertRow(e.funcTab, widecol.Row{"signature": sig, "def": enc}, nil); err != nil {
		return "", nil, err
	}
	if err := b.Commit(ctx); err != nil {
		return "", nil, err
	}
	e.setFunction(def.Name, old, uf)
	e.catVersion.Add(1)
	return tag, nil, nil
}

// findFunction returns the overload of name with exactly these parameter
// types, or nil.
func (e *Engine) findFunction(name string, types []catalog.Type) *planner.UserFunc {
	want := catalog.FuncSignature(name, types)
	for _, f := range e.Functions(name) {
		if f.Def.Signature() == want {
			return f
		}
	}
	return nil
}

// setFunction replaces old (nil: none) by uf (nil: none) in the map.
func (e *Engine) setFunction(name string, old, uf *planner.UserFunc) {
	e.funcMu.Lock()
	defer e.funcMu.Unlock()
	var next []*planner.UserFunc
	for _, f := range e.funcs[name] {
		if f != old {
			next = append(next, f)
		}
	}
	if uf != nil {
		next = append(next, uf)
	}
	if len(next) == 0 {
		delete(e.funcs, name)
		return
	}
	e.funcs[name] = next
}

// functionDependentsLocked returns the views whose queries inline the
// function sig, found by binding each view's query again.
func (e *Engine) functionDependentsLocked(sig string) []string {
	var out []string
	for _, r := range e.rels {
		if r.Kind != catalog.KindView || r.Query == "" {
			continue
		}
		stmts, err := parser.Parse(r.Query)
		if err != nil || len(stmts) != 1 {
			continue
		}
		sel, ok := stmts[0].AST.(*ast.Select)
		if !ok {
			continue
		}
		b := planner.NewBinder(lockedCatalog{e}, nil)
		if _, err := b.BindSelectUnoptimized(sel); err != nil {
			continue
		}
		for _, u := range b.UsedFunctions() {
			if u == sig {
				out = append(out, r.Name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// dropFunction is DROP FUNCTION.
func (s *Session) dropFunction(ctx context.Context, x *ast.DropFunction) (string, []arrow.RecordBatch, error) {
	const tag = "DROP FUNCTION"
	e := s.eng
	var views []string
	var drop []*planner.UserFunc
	err := func() error {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, ref := range x.Funcs {
			f, err := e.lookupFunctionRef(ref)
			if err != nil {
				if pe, ok := err.(*pgerror.Error); ok && pe.Code == pgerror.CodeUndefinedFunction && x.IfExists {
					s.notices = append(s.notices, &pgerror.Error{Code: pgerror.CodeSuccessfulCompletion, Message: pe.Message + ", skipping"})
					continue
				}
				return err
			}
			sig := f.Def.Signature()
			if deps := e.functionDependentsLocked(sig); len(deps) > 0 {
				if !x.Cascade {
					return pgerror.New(pgerror.CodeDependentObjectsStillExist, "cannot drop function %s because other objects depend on it", sig).
						WithDetail("view %s depends on function %s", deps[0], sig).
						WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
				}
				views = append(views, deps...)
			}
			drop = append(drop, f)
		}
		return nil
	}()
	if err != nil {
		return "", nil, err
	}
	for _, v := range views {
		if err := e.dropRelation(ctx, catalog.KindView, v, true, true); err != nil {
			return "", nil, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.store.NewBatch()
	defer b.Close()
	for _, f := range drop {
		if err := b.DeleteRow(e.funcTab, []any{f.Def.Signature()}); err != nil {
			return "", nil, err
		}
	}
	if err := b.Commit(ctx); err != nil {
		return "", nil, err
	}
	for _, f := range drop {
		e.setFunction(f.Def.Name, f, nil)
	}
	e.catVersion.Add(1)
	return tag, nil, nil
}

// lookupFunctionRef finds the function a DROP FUNCTION item names: by name
// alone when it has one overload, else by its parameter types. A missing
// function is a 42883 error.
func (e *Engine) lookupFunctionRef(ref ast.FuncRef) (*planner.UserFunc, error) {
	fs := e.Functions(ref.Name)
	if !ref.HasTypes {
		switch len(fs) {
		case 0:
			return nil, pgerror.New(pgerror.CodeUndefinedFunction, "could not find a function named %q", ref.Name)
		case 1:
			return fs[0], nil
		}
		return nil, pgerror.New(pgerror.CodeAmbiguousFunction, "function name %q is not unique", ref.Name).
			WithHint("Specify the argument list to select the function unambiguously.")
	}
	types := make([]catalog.Type, len(ref.Types))
	for i, tn := range ref.Types {
		t, err := catalog.ParseTypeName(tn)
		if err != nil {
			return nil, pgerror.New(pgerror.CodeUndefinedObject, "type %q does not exist", tn)
		}
		types[i] = t
	}
	if f := e.findFunction(ref.Name, types); f != nil {
		return f, nil
	}
	return nil, pgerror.New(pgerror.CodeUndefinedFunction, "function %s does not exist", catalog.FuncSignature(ref.Name, types))
}

// overlayFuncs is a catalog with one function added or replaced, for
// checking a new body against the functions it may call.
type overlayFuncs struct {
	lockedCatalog
	uf *planner.UserFunc
}

func (o overlayFuncs) Functions(name string) []*planner.UserFunc {
	fs := o.lockedCatalog.Functions(name)
	if name != o.uf.Def.Name {
		return fs
	}
	sig := o.uf.Def.Signature()
	out := []*planner.UserFunc{o.uf}
	for _, f := range fs {
		if f.Def.Signature() != sig {
			out = append(out, f)
		}
	}
	return out
}
