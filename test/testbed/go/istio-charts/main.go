// Command istio-charts writes the Helm charts embedded in istio.io/istio/manifests
// (an embed.FS) to a directory laid out like the published chart repository:
//
//	<out>/base, <out>/istiod, <out>/gateway, <out>/cni, <out>/ztunnel
//
// and rewrites the placeholders that Istio's release-builder rewrites when it
// publishes the charts: Chart.yaml `version`/`appVersion` (1.0.0 in the source)
// become the Istio version, and in values.yaml the dev image defaults
// (`hub: registry.istio.io/testing`, `tag: latest`) become the release hub and
// the Istio version.
//
// Usage: istio-charts -out DIR -version 1.30.4 [-hub registry.istio.io/release]
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"istio.io/istio/manifests"
)

// published chart name -> directory inside the embedded FS
var charts = []struct{ name, src string }{
	{"base", "charts/base"},
	{"istiod", "charts/istio-control/istio-discovery"},
	{"gateway", "charts/gateway"},
	{"cni", "charts/istio-cni"},
	{"ztunnel", "charts/ztunnel"},
}

var (
	chartVersionRe = regexp.MustCompile(`(?m)^(version|appVersion):[ \t]*\S+[ \t]*$`)
	chartNameRe    = regexp.MustCompile(`(?m)^name:[ \t]*(\S+)[ \t]*$`)
	devHubRe       = regexp.MustCompile(`(?m)^([ \t]*hub:[ \t]*)registry\.istio\.io/testing[ \t]*$`)
	devTagRe       = regexp.MustCompile(`(?m)^([ \t]*tag:[ \t]*)latest[ \t]*$`)
)

func main() {
	out := flag.String("out", "", "output directory (created; must not already contain the charts)")
	version := flag.String("version", "", "Istio version to stamp into Chart.yaml and values.yaml, e.g. 1.30.4")
	hub := flag.String("hub", "registry.istio.io/release", "image hub that replaces the dev default registry.istio.io/testing")
	flag.Parse()
	if *out == "" || *version == "" {
		fmt.Fprintln(os.Stderr, "usage: istio-charts -out DIR -version X.Y.Z [-hub HUB]")
		os.Exit(2)
	}
	if err := run(*out, *version, *hub); err != nil {
		fmt.Fprintln(os.Stderr, "istio-charts:", err)
		os.Exit(1)
	}
}

func run(out, version, hub string) error {
	for _, c := range charts {
		dst := filepath.Join(out, c.name)
		n := 0
		err := fs.WalkDir(manifests.FS, c.src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(p, c.src), "/")
			target := filepath.Join(dst, filepath.FromSlash(rel))
			if d.IsDir() {
				return os.MkdirAll(target, 0o755)
			}
			data, err := fs.ReadFile(manifests.FS, p)
			if err != nil {
				return err
			}
			switch {
			case p == path.Join(c.src, "Chart.yaml"):
				if m := chartNameRe.FindSubmatch(data); m == nil || string(m[1]) != c.name {
					return fmt.Errorf("%s: chart name is not %q", p, c.name)
				}
				if len(chartVersionRe.FindAll(data, -1)) != 2 {
					return fmt.Errorf("%s: expected one version and one appVersion line", p)
				}
				data = chartVersionRe.ReplaceAll(data, []byte("${1}: "+version))
			case p == path.Join(c.src, "values.yaml"):
				data = devHubRe.ReplaceAll(data, []byte("${1}"+hub))
				data = devTagRe.ReplaceAll(data, []byte("${1}"+version))
			}
			n++
			return os.WriteFile(target, data, 0o644)
		})
		if err != nil {
			return fmt.Errorf("chart %s: %w", c.name, err)
		}
		fmt.Printf("wrote chart %-8s (%3d files) from %s\n", c.name, n, c.src)
	}
	return nil
}
