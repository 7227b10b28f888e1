package vectors_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/vectors"
)

// covered lists every vector file a test of this package runs, with the test that runs it.
var covered = map[string]string{
	"requests.json":        "TestMessageVectors",
	"requests-large.json":  "TestMessageVectors",
	"responses.json":       "TestMessageVectors",
	"responses-large.json": "TestMessageVectors",
	"names.json":           "TestNameVectors",
	"templates.json":       "TestTemplateVectors",
	"bundles.json":         "TestBundleVectors",
	"redaction.json":       "TestRedactionVectors",
}

func TestEveryVectorFileIsCovered(t *testing.T) {
	dir, err := vectors.Dir()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			found = append(found, e.Name())
			if covered[e.Name()] == "" {
				t.Errorf("%s has no test here: a vector file this shim does not run", e.Name())
			}
		}
	}
	sort.Strings(found)
	if len(found) != len(covered) {
		t.Errorf("vector files %v, covered %d", found, len(covered))
	}
}

func namesFile(extraFile, extraTest string) string {
	test := `{"id": 1, "comment": "", "flags": [], "hex": "41", "value": "A", "result": "valid", "error": null` + extraTest + `}`
	return `{"schema": "ax-protocol/names/v1", "area": "x", "description": "x", "numberOfTests": 1, "tests": [` + test + `]` + extraFile + `}`
}

func check(doc string) error {
	v, err := vectors.Decode([]byte(doc))
	if err != nil {
		return err
	}
	_, err = vectors.Check("x.json", v)
	return err
}

func TestTheLoaderAcceptsAWellFormedFile(t *testing.T) {
	if err := check(namesFile("", "")); err != nil {
		t.Fatal(err)
	}
}

func TestTheLoaderRefusesAnUnknownKeyAtFileLevel(t *testing.T) {
	if err := check(namesFile(`, "extra": 1`, "")); err == nil {
		t.Fatal("accepted")
	}
}

func TestTheLoaderRefusesAnUnknownKeyAtTestLevel(t *testing.T) {
	if err := check(namesFile("", `, "surprise": true`)); err == nil {
		t.Fatal("accepted")
	}
}

func TestTheLoaderRefusesAMissingKey(t *testing.T) {
	doc := strings.Replace(namesFile("", ""), `"comment": "", `, "", 1)
	if err := check(doc); err == nil {
		t.Fatal("accepted")
	}
}

func TestTheLoaderRefusesAWrongTestCount(t *testing.T) {
	doc := strings.Replace(namesFile("", ""), `"numberOfTests": 1`, `"numberOfTests": 2`, 1)
	if err := check(doc); err == nil {
		t.Fatal("accepted")
	}
}

func TestTheLoaderRefusesAnUnknownSchema(t *testing.T) {
	doc := strings.Replace(namesFile("", ""), "names/v1", "names/v2", 1)
	if err := check(doc); err == nil {
		t.Fatal("accepted")
	}
}

func TestTheLoaderRefusesAnErrorThatDoesNotFitTheResult(t *testing.T) {
	doc := strings.Replace(namesFile("", ""), `"error": null`, `"error": "Empty"`, 1)
	if err := check(doc); err == nil {
		t.Fatal("accepted")
	}
}
