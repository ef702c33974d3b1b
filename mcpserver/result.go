package mcpserver

import "github.com/modelcontextprotocol/go-sdk/mcp"

// textResult is a tool result whose text is what the model can relay to
// the user; the SDK adds the structured content from the handler's output.
func textResult(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

func ptr[T any](v T) *T { return &v }
