// Command agentpay is the single binary of agentpay: the server, the load
// tool and the database migrations.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `agentpay — payments for AI agents

Usage:
  agentpay serve [--addr 127.0.0.1:8080] [--db sqlite:./agentpay.db]
  agentpay demo [--auto] [--addr 127.0.0.1:8080] [--db URL] [--ask TEXT]
  agentpay mcp [--server http://localhost:8080] [--config-dir DIR]   (MCP over stdio, for Claude Code and other agents)
  agentpay migrate [--db URL]
  agentpay load payments [--db URL] [--users N] [--merchants N] [--payments N] [--concurrency N]
  agentpay load ledger [--db URL | --target URL] [--accounts N] [--merchants N] [--transfers N]
                       [--concurrency N] [--hot-ratio R] [--asset CODE] [--json]

Every flag has an AGENTPAY_* environment fallback (AGENTPAY_ADDR, AGENTPAY_DB,
AGENTPAY_ADMIN_TOKEN). AGENTPAY_ASSETS registers digital assets, e.g. "EURC:6". Run "agentpay COMMAND --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tuneGC()
	if err := registerAssets(os.Getenv("AGENTPAY_ASSETS")); err != nil {
		fmt.Fprintln(os.Stderr, "agentpay:", err)
		os.Exit(2)
	}
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "agentpay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("a command is required")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:])
	case "migrate":
		return migrate(ctx, args[1:])
	case "load":
		return loadCommand(ctx, args[1:])
	case "demo":
		return demo(ctx, args[1:])
	case "mcp":
		return mcpCommand(ctx, args[1:])
	case "help", "--help", "-h":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func env(name, fallback string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return fallback
}
