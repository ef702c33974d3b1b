package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/agentpay/agentpay/mcpserver"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpCommand is "agentpay mcp": an MCP server over stdio for an agent on
// this machine (Claude Code, Hermes Agent), acting as one agentpay agent
// with its own key. stdout carries the protocol, so logs go to stderr.
func mcpCommand(ctx context.Context, args []string) error {
	fs := newFlagSet("mcp")
	server := fs.String("server", env("AGENTPAY_URL", mcpserver.DefaultServerURL),
		"the agentpay server's public URL, exactly as it is configured (its --public-url): requests are signed for it (AGENTPAY_URL)")
	dir := fs.String("config-dir", env("AGENTPAY_CONFIG_DIR", ""),
		"where the agent key (mode 0600) and link state live (AGENTPAY_CONFIG_DIR; default: the user's configuration directory/agentpay)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("mcp takes no arguments, got %q", fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(env("AGENTPAY_LOG_LEVEL", "info"))); err != nil {
		return fmt.Errorf("AGENTPAY_LOG_LEVEL: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	srv, err := mcpserver.New(mcpserver.Options{ServerURL: *server, Dir: *dir, Log: log, Version: "1"})
	if err != nil {
		return err
	}
	log.Info("agentpay mcp serving over stdio", "server", *server, "agent_key", srv.KeyID())
	return srv.Run(ctx, &mcp.StdioTransport{})
}
