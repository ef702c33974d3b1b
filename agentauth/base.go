package agentauth

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/dunglas/httpsfv"
)

// componentsMax bounds the components one signature may cover.
const componentsMax = 32

// message is what a signature base is built from: the request's method,
// header fields and target URI. On the client the target URI is the URL the
// request is sent to; on the server its scheme, authority and path prefix
// come from the configured public base URL, never from the Host header or
// X-Forwarded-* fields, which proxies rewrite and clients control.
type message struct {
	method    string
	scheme    string // lowercase
	authority string // lowercase host[:port], default port removed
	path      string // escaped as sent, never empty
	query     string // raw, without the "?"
	hasQuery  bool
	header    http.Header
}

// targetURI is the @target-uri component: scheme://authority/path?query.
func (m *message) targetURI() string {
	uri := m.scheme + "://" + m.authority + m.path
	if m.hasQuery {
		uri += "?" + m.query
	}
	return uri
}

// component returns the value of one covered component (RFC 9421 §2.1,
// §2.2), or a refusal if the component is unsupported or absent.
func (m *message) component(name string) (string, error) {
	switch name {
	case "@method":
		return m.method, nil
	case "@target-uri":
		return m.targetURI(), nil
	case "@authority":
		return m.authority, nil
	case "@scheme":
		return m.scheme, nil
	case "@path":
		return m.path, nil
	case "@query":
		return "?" + m.query, nil
	}
	if strings.HasPrefix(name, "@") {
		return "", refuse(CodeSignatureComponents, headerSignatureInput, "the derived component %q is not supported", name)
	}
	values := m.header.Values(name)
	if len(values) == 0 {
		if name == "content-digest" {
			return "", refuse(CodeDigestMissing, headerContentDigest, "content-digest is covered but the request has no Content-Digest header")
		}
		return "", refuse(CodeSignatureComponents, headerSignatureInput, "the covered header field %q is absent", name)
	}
	trimmed := make([]string, len(values))
	for i, v := range values {
		trimmed[i] = strings.Trim(v, " \t")
	}
	return strings.Join(trimmed, ", "), nil
}

// signatureBase builds the RFC 9421 §2.5 signature base of m for the
// covered components and parameters in list, and returns it with the
// component names in order. The "@signature-params" line is the
// serialization of list, so it reproduces the parameters in the order the
// signer gave them: reordering them changes the base.
func signatureBase(m *message, list httpsfv.InnerList) (string, []string, error) {
	if len(list.Items) > componentsMax {
		return "", nil, refuse(CodeSignatureComponents, headerSignatureInput, "a signature may cover at most %d components", componentsMax)
	}
	names := make([]string, 0, len(list.Items))
	var b strings.Builder
	for _, item := range list.Items {
		name, err := componentName(item, names)
		if err != nil {
			return "", nil, err
		}
		value, err := m.component(name)
		if err != nil {
			return "", nil, err
		}
		if !visible(value) {
			return "", nil, refuse(CodeSignatureComponents, headerSignatureInput, "the value of component %q contains control characters", name)
		}
		names = append(names, name)
		b.WriteString(`"` + name + `": ` + value + "\n")
	}
	params, err := httpsfv.Marshal(list)
	if err != nil {
		return "", nil, refuse(CodeSignatureMalformed, headerSignatureInput, "the signature parameters cannot be serialized")
	}
	b.WriteString(`"@signature-params": ` + params)
	return b.String(), names, nil
}

// componentName checks one component identifier: a string, lowercase, a
// field name or a derived component, without parameters and not already in
// seen.
func componentName(item httpsfv.Item, seen []string) (string, error) {
	name, ok := item.Value.(string)
	if !ok {
		return "", refuse(CodeSignatureMalformed, headerSignatureInput, "component identifiers must be strings")
	}
	if item.Params != nil && len(item.Params.Names()) > 0 {
		return "", refuse(CodeSignatureComponents, headerSignatureInput, "component parameters (on %q) are not supported", name)
	}
	if !fieldName(strings.TrimPrefix(name, "@")) {
		return "", refuse(CodeSignatureComponents, headerSignatureInput, "%q is not a lowercase component name", name)
	}
	for _, s := range seen {
		if s == name {
			return "", refuse(CodeSignatureComponents, headerSignatureInput, "component %q is covered twice", name)
		}
	}
	return name, nil
}

// fieldName reports whether s is a non-empty lowercase HTTP field name
// (RFC 9110 token characters, no uppercase letters).
func fieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// visible reports whether s has no control characters other than tab, so a
// component value can never add a line to the signature base.
func visible(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// normalAuthority lowercases host and drops the scheme's default port.
func normalAuthority(scheme, host string) string {
	host = strings.ToLower(host)
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	}
	return strings.TrimSuffix(host, ":")
}

// escapedPath is u's path as sent on the wire, "/" when empty.
func escapedPath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}
