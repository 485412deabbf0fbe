package clerkauth

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// apiFile is the committed list of the root package's exported
// identifiers. Regenerate it with CLERKAUTH_UPDATE_API=1 go test -run TestExportedAPI
// only for a deliberate API change.
const apiFile = "testdata/api.txt"

// TestExportedAPI pins the exported API of package clerkauth: every
// exported constant, variable, type, function, method and struct or
// interface field, compared with testdata/api.txt. A refactor must leave it
// unchanged; an API change must update the list in the same commit.
func TestExportedAPI(t *testing.T) {
	got := exportedAPI(t, ".")
	if os.Getenv("CLERKAUTH_UPDATE_API") == "1" {
		if err := os.WriteFile(apiFile, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(apiFile)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(raw)), "\n")
	for _, name := range want {
		if _, found := slices.BinarySearch(got, name); !found {
			t.Errorf("exported identifier removed: %s", name)
		}
	}
	for _, name := range got {
		if _, found := slices.BinarySearch(want, name); !found {
			t.Errorf("exported identifier added: %s", name)
		}
	}
}

// exportedAPI returns the sorted exported identifiers of the non-test Go
// files of dir, as "kind Name" lines ("method Type.Name", "field Type.Name").
func exportedAPI(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fileAPI(f)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func fileAPI(f *ast.File) []string {
	var out []string
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			if d.Recv == nil {
				out = append(out, "func "+d.Name.Name)
			} else if recv := receiverName(d.Recv.List[0].Type); ast.IsExported(recv) {
				out = append(out, "method "+recv+"."+d.Name.Name)
			}
		case *ast.GenDecl:
			out = append(out, genDeclAPI(d)...)
		}
	}
	return out
}

func genDeclAPI(d *ast.GenDecl) []string {
	var out []string
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.ValueSpec:
			for _, n := range s.Names {
				if n.IsExported() {
					out = append(out, d.Tok.String()+" "+n.Name)
				}
			}
		case *ast.TypeSpec:
			if !s.Name.IsExported() {
				continue
			}
			out = append(out, "type "+s.Name.Name)
			out = append(out, memberAPI(s.Name.Name, s.Type)...)
		}
	}
	return out
}

// memberAPI lists the exported fields of a struct type and the methods of
// an interface type.
func memberAPI(typ string, expr ast.Expr) []string {
	var list *ast.FieldList
	kind := "field "
	switch x := expr.(type) {
	case *ast.StructType:
		list = x.Fields
	case *ast.InterfaceType:
		list, kind = x.Methods, "method "
	default:
		return nil
	}
	var out []string
	for _, fld := range list.List {
		for _, n := range fld.Names {
			if n.IsExported() {
				out = append(out, kind+typ+"."+n.Name)
			}
		}
	}
	return out
}

func receiverName(expr ast.Expr) string {
	switch x := expr.(type) {
	case *ast.StarExpr:
		return receiverName(x.X)
	case *ast.IndexExpr:
		return receiverName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return ""
}
