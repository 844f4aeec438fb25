// Command chart-annotations writes the Artifact Hub annotations at the end of the chart's
// Chart.yaml (artifacthub.io/crds and artifacthub.io/crdsExamples) from the CRDs in crds/ and the
// samples in config/samples, so what Artifact Hub lists has one source each: the API's markers and
// the samples the envtest suite admits (make manifests; make verify-generated).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

const (
	chartYAML = "charts/neo4j-backup-operator/Chart.yaml"
	crdDir    = "charts/neo4j-backup-operator/crds"
	samples   = "config/samples"
	// marker starts the part of Chart.yaml this command owns.
	marker = "# Written by make manifests (hack/chart-annotations) from crds/ and config/samples: not by hand."
)

func main() {
	if err := write(); err != nil {
		fmt.Fprintln(os.Stderr, "chart-annotations:", err)
		os.Exit(1)
	}
}

type crd struct {
	Spec struct {
		Group string `json:"group"`
		Names struct {
			Kind   string `json:"kind"`
			Plural string `json:"plural"`
		} `json:"names"`
		Versions []struct {
			Name    string `json:"name"`
			Storage bool   `json:"storage"`
			Schema  struct {
				OpenAPIV3Schema struct {
					Description string `json:"description"`
				} `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

// artifactHubCRD is an entry of artifacthub.io/crds (Artifact Hub's docs: annotations, Helm charts).
type artifactHubCRD struct {
	Kind        string `json:"kind"`
	Version     string `json:"version"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
}

func write() error {
	chart, err := os.ReadFile(chartYAML)
	if err != nil {
		return err
	}
	head, _, found := bytes.Cut(chart, []byte(marker))
	if !found {
		return errors.New(chartYAML + " has no line " + marker)
	}
	crds, err := crdEntries()
	if err != nil {
		return err
	}
	examples, err := sampleObjects()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	out.Write(head)
	out.WriteString(marker + "\nannotations:\n")
	out.WriteString("  artifacthub.io/operator: \"true\"\n")
	out.WriteString("  artifacthub.io/operatorCapabilities: Full Lifecycle\n")
	out.WriteString("  artifacthub.io/prerelease: \"true\"\n")
	for _, a := range []struct {
		key string
		v   any
	}{{"artifacthub.io/crds", crds}, {"artifacthub.io/crdsExamples", examples}} {
		text, err := yaml.Marshal(a.v)
		if err != nil {
			return err
		}
		out.WriteString("  " + a.key + ": |\n")
		for _, line := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
			out.WriteString("    " + line + "\n")
		}
	}
	return os.WriteFile(chartYAML, out.Bytes(), 0o644)
}

func crdEntries() ([]artifactHubCRD, error) {
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []artifactHubCRD
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var c crd
		if err := yaml.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, v := range c.Spec.Versions {
			if !v.Storage {
				continue
			}
			// The first sentence of the kind's doc comment.
			desc, _, _ := strings.Cut(strings.Join(strings.Fields(v.Schema.OpenAPIV3Schema.Description), " "), ". ")
			out = append(out, artifactHubCRD{Kind: c.Spec.Names.Kind, Version: v.Name, Name: c.Spec.Names.Plural + "." + c.Spec.Group,
				DisplayName: c.Spec.Names.Kind, Description: strings.TrimSuffix(desc, ".") + "."})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out, nil
}

// sampleObjects are the objects of config/samples, in its kustomization's order.
func sampleObjects() ([]map[string]any, error) {
	data, err := os.ReadFile(filepath.Join(samples, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, r := range k.Resources {
		data, err := os.ReadFile(filepath.Join(samples, r))
		if err != nil {
			return nil, err
		}
		var o map[string]any
		if err := yaml.Unmarshal(data, &o); err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		out = append(out, o)
	}
	return out, nil
}
