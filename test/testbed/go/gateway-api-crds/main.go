// Command gateway-api-crds generates the standard-channel Gateway API CRDs from the Go API types
// of the sigs.k8s.io/gateway-api module this wrapper module pins, for the offline test bed. It
// is not the upstream generator (tools/generator, not part of the module); it drives the same
// library, controller-tools' CRD generator (sigs.k8s.io/controller-tools/pkg/crd, i.e.
// `controller-gen crd`), and then applies the Gateway API conventions a standard-channel
// manifest needs, following the markers in the API types' doc comments:
//
//   - Kinds: a kind belongs to the standard channel when one of its API versions is not an
//     alpha (v1, v1beta1). Alpha versions stay in the CRD (as upstream ships them, so stored
//     objects keep a schema) but are not served.
//   - Fields whose description carries <gateway:experimental> are dropped.
//   - <gateway:standard:validation:Enum=...|XValidation:message="...",rule="..."|Pattern=`...`>
//     are applied; the <gateway:experimental:validation:...> ones are not.
//   - <gateway:validateIPAddress> adds the oneOf that ties type IPAddress to ipv4/ipv6 values.
//   - Descriptions lose <gateway:experimental:description>...</...> and
//     <gateway:util:excludeFromCRD>...</...> blocks and every other <gateway:...> tag.
//   - Annotations: gateway.networking.k8s.io/bundle-version and /channel (Istio's CRD watcher
//     and its analyzer IST0176 read the bundle version; without it istiod ignores the CRDs that
//     have a minimum version), and api-approved.kubernetes.io. The values come from the
//     module's own pkg/consts.
//
// The output is one multi-document YAML file, CRDs ordered by <group>_<plural> like the
// release's standard-install.yaml. It does not contain the release's hand-written
// ValidatingAdmissionPolicy (safe-upgrades), which is not derived from Go types.
//
// Usage (run inside this module, so `go list` resolves the pinned gateway-api sources):
//
//	gateway-api-crds -out FILE [-bundle-version v1.5.1]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
	apiext "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-tools/pkg/crd"
	"sigs.k8s.io/controller-tools/pkg/loader"
	"sigs.k8s.io/controller-tools/pkg/markers"
	"sigs.k8s.io/gateway-api/pkg/consts"
	"sigs.k8s.io/yaml"

	// The packages the generator parses at run time (through `go list`): imported so that
	// `go mod tidy` keeps their dependencies in go.mod/go.sum and the build type-checks them.
	_ "sigs.k8s.io/gateway-api/apis/v1"
	_ "sigs.k8s.io/gateway-api/apis/v1alpha2"
	_ "sigs.k8s.io/gateway-api/apis/v1alpha3"
	_ "sigs.k8s.io/gateway-api/apis/v1beta1"
)

const channel = "standard"

// The API packages holding the gateway.networking.k8s.io kinds (apisx holds the
// gateway.networking.x-k8s.io group, experimental only). The schema package is needed to
// parse the generated register functions.
var roots = []string{
	"k8s.io/apimachinery/pkg/runtime/schema",
	"sigs.k8s.io/gateway-api/apis/v1",
	"sigs.k8s.io/gateway-api/apis/v1beta1",
	"sigs.k8s.io/gateway-api/apis/v1alpha2",
	"sigs.k8s.io/gateway-api/apis/v1alpha3",
}

func main() {
	out := flag.String("out", "", "output file (multi-document YAML)")
	want := flag.String("bundle-version", "", "fail unless the module's bundle version (pkg/consts) is this one")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: gateway-api-crds -out FILE [-bundle-version vX.Y.Z]")
		os.Exit(2)
	}
	if *want != "" && *want != consts.BundleVersion {
		fatalf("the module's bundle version is %s, expected %s", consts.BundleVersion, *want)
	}
	data, err := generate()
	if err != nil {
		fatalf("%v", err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gateway-api-crds: "+format+"\n", args...)
	os.Exit(1)
}

func generate() ([]byte, error) {
	pkgs, err := loader.LoadRoots(roots...)
	if err != nil {
		return nil, fmt.Errorf("loading %v: %w", roots, err)
	}
	gen := &crd.Generator{}
	parser := &crd.Parser{
		Collector: &markers.Collector{Registry: &markers.Registry{}},
		Checker:   &loader.TypeChecker{NodeFilters: []loader.NodeFilter{gen.CheckFilter()}},
	}
	if err := gen.RegisterMarkers(parser.Collector.Registry); err != nil {
		return nil, err
	}
	crd.AddKnownTypes(parser)
	for _, p := range pkgs {
		parser.NeedPackage(p)
	}
	metav1 := crd.FindMetav1(pkgs)
	if metav1 == nil {
		return nil, fmt.Errorf("no package imports metav1")
	}

	var kinds []schema.GroupKind
	for _, gk := range crd.FindKubeKinds(parser, metav1) {
		if standardKind(parser, gk) {
			kinds = append(kinds, gk)
		}
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no standard-channel kinds found")
	}

	type doc struct {
		key  string
		name string
		data []byte
	}
	var docs []doc
	for _, gk := range kinds {
		parser.NeedCRDFor(gk, nil)
		c, ok := parser.CustomResourceDefinitions[gk]
		if !ok {
			return nil, fmt.Errorf("%v: no CRD generated", gk)
		}
		c = *c.DeepCopy()
		if err := standardize(&c); err != nil {
			return nil, fmt.Errorf("%v: %w", gk, err)
		}
		y, err := yaml.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", gk, err)
		}
		docs = append(docs, doc{c.Spec.Group + "_" + c.Spec.Names.Plural, c.Name, y})
		var vs []string
		for _, v := range c.Spec.Versions {
			s := v.Name
			if !v.Served {
				s += " (not served)"
			}
			if v.Storage {
				s += " (storage)"
			}
			vs = append(vs, s)
		}
		fmt.Fprintf(os.Stderr, "gateway-api-crds: %-46s %s\n", c.Name, strings.Join(vs, ", "))
	}
	// Type-check errors surface only here; a partial schema must not pass silently.
	if loader.PrintErrors(pkgs, packages.TypeError) {
		return nil, fmt.Errorf("errors while loading the API packages (see above)")
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].key < docs[j].key })

	var b bytes.Buffer
	fmt.Fprintf(&b, "# Gateway API %s, %s channel: CRDs generated from the Go API types of\n", consts.BundleVersion, channel)
	fmt.Fprintf(&b, "# sigs.k8s.io/gateway-api@%s by service-mesh's test bed\n", consts.BundleVersion)
	b.WriteString("# (test/testbed/build-gateway-api.sh). Not the upstream release manifest, for tests only;\n")
	b.WriteString("# see that script's header for how it differs.\n")
	for _, d := range docs {
		fmt.Fprintf(&b, "---\n# %s\n", d.name)
		b.Write(d.data)
	}
	return b.Bytes(), nil
}

// standardKind: the kind has at least one non-alpha API version.
func standardKind(parser *crd.Parser, gk schema.GroupKind) bool {
	for pkg, gv := range parser.GroupVersions {
		if gv.Group != gk.Group || strings.Contains(gv.Version, "alpha") {
			continue
		}
		if parser.LookupType(pkg, gk.Kind) != nil {
			return true
		}
	}
	return false
}

func standardize(c *apiext.CustomResourceDefinition) error {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[consts.BundleVersionAnnotation] = consts.BundleVersion
	c.Annotations[consts.ChannelAnnotation] = channel
	c.Annotations[apiext.KubeAPIApprovedAnnotation] = consts.ApprovalLink
	crd.FixTopLevelMetadata(*c)
	for i := range c.Spec.Versions {
		v := &c.Spec.Versions[i]
		if strings.Contains(v.Name, "alpha") {
			v.Served = false
		}
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			return fmt.Errorf("version %s has no schema", v.Name)
		}
		root := v.Schema.OpenAPIV3Schema
		if err := tweakProps(root.Properties, v.Name); err != nil {
			return err
		}
	}
	return nil
}

// tweakProps filters and rewrites a properties map in place; path is for error messages.
func tweakProps(props map[string]apiext.JSONSchemaProps, path string) error {
	for name, p := range props {
		keep, err := tweak(&p, path+"."+name)
		if err != nil {
			return err
		}
		if keep {
			props[name] = p
		} else {
			delete(props, name)
		}
	}
	return nil
}

var (
	// <gateway:standard:validation:...> tags; each one must be understood.
	validationTag = "<gateway:" + channel + ":validation:"
	enumTag       = regexp.MustCompile(regexp.QuoteMeta(validationTag) + `Enum=([A-Za-z;]*)>`)
	celTag        = regexp.MustCompile(regexp.QuoteMeta(validationTag) + `XValidation:message="([^"]*)",rule="([^"]*)">`)
	patternTag    = regexp.MustCompile(regexp.QuoteMeta(validationTag) + "Pattern=`([^`]*)`>")

	experimentalBlock = regexp.MustCompile(`\n*<gateway:experimental:description>(?s:.*?)</gateway:experimental:description>\n*`)
	excludedBlock     = regexp.MustCompile(`\n*<gateway:util:excludeFromCRD>(?s:.*?)</gateway:util:excludeFromCRD>\n*`)
	anyTag            = regexp.MustCompile(`<gateway:.*>`)
	manyNewlines      = regexp.MustCompile(`\n\n\n+`)
)

// tweak applies the channel conventions to one schema node; false means drop it.
func tweak(p *apiext.JSONSchemaProps, path string) (bool, error) {
	d := p.Description
	if strings.Contains(d, "<gateway:experimental>") {
		return false, nil
	}
	if strings.Contains(d, "<gateway:validateIPAddress>") {
		if p.Items == nil || p.Items.Schema == nil {
			return false, fmt.Errorf("%s: <gateway:validateIPAddress> on a non-list", path)
		}
		ipv4or6 := apiext.JSONSchemaProps{AnyOf: []apiext.JSONSchemaProps{{Format: "ipv4"}, {Format: "ipv6"}}}
		ipType := apiext.JSONSchemaProps{Enum: []apiext.JSON{{Raw: []byte(`"IPAddress"`)}}}
		p.Items.Schema.OneOf = []apiext.JSONSchemaProps{
			{Properties: map[string]apiext.JSONSchemaProps{"type": ipType, "value": ipv4or6}},
			{Properties: map[string]apiext.JSONSchemaProps{"type": {Not: &ipType}}},
		}
	}
	if p.Format == "date-time" {
		p.Type = "string"
	}

	n := strings.Count(d, validationTag)
	for _, m := range enumTag.FindAllStringSubmatch(d, -1) {
		p.Enum = nil
		for _, v := range strings.Split(m[1], ";") {
			p.Enum = append(p.Enum, apiext.JSON{Raw: []byte(`"` + v + `"`)})
		}
		n--
	}
	for _, m := range celTag.FindAllStringSubmatch(d, -1) {
		p.XValidations = append(p.XValidations, apiext.ValidationRule{Message: m[1], Rule: m[2]})
		n--
	}
	if ms := patternTag.FindAllStringSubmatch(d, -1); len(ms) == 1 && p.Pattern == "" {
		p.Pattern = ms[0][1]
		n--
	}
	if n != 0 {
		return false, fmt.Errorf("%s: %d %s... tag(s) not understood", path, n, validationTag)
	}

	d = experimentalBlock.ReplaceAllString(d, "\n\n")
	d = excludedBlock.ReplaceAllString(d, "\n\n\n")
	d = anyTag.ReplaceAllLiteralString(d, "")
	d = manyNewlines.ReplaceAllString(d, "\n\n\n")
	p.Description = strings.Trim(d, "\n")

	if len(p.Properties) > 0 {
		if err := tweakProps(p.Properties, path); err != nil {
			return false, err
		}
	} else if p.Items != nil && p.Items.Schema != nil {
		keep, err := tweak(p.Items.Schema, path+"[]")
		if err != nil {
			return false, err
		}
		if !keep {
			return false, fmt.Errorf("%s[]: the items of a list are experimental; drop the list instead", path)
		}
	}
	if p.AdditionalProperties != nil && p.AdditionalProperties.Schema != nil {
		if _, err := tweak(p.AdditionalProperties.Schema, path+"{}"); err != nil {
			return false, err
		}
	}
	return true, nil
}
