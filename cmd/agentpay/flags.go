package main

import (
	"flag"
	"os"
)

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("agentpay "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}
