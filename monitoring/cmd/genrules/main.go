// Command genrules writes the Prometheus rules for consul_status_exporter,
// with the label that groups servers into clusters of your choice.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/consul-status-exporter/consul_status_exporter/monitoring"
)

func main() {
	var o monitoring.RuleOptions
	flag.StringVar(&o.ClusterLabel, "cluster-label", monitoring.DefaultClusterLabel, "Label whose value names a Consul cluster.")
	flag.StringVar(&o.Selector, "selector", monitoring.DefaultSelector, "PromQL label matchers, without braces, that select the exporter's series; empty for none.")
	out := flag.String("o", "-", "Output file; - for standard output.")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "genrules: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	b, err := monitoring.Rules(o)
	if err == nil {
		if *out == "-" {
			_, err = os.Stdout.Write(b)
		} else {
			err = os.WriteFile(*out, b, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "genrules: %v\n", err)
		os.Exit(1)
	}
}
