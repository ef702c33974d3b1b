package sdk

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/agentpay/agentpay/agentauth"
)

// GenerateKey returns a new Ed25519 agent key.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	return key, err
}

// WritePrivateKeyPEM writes key to a new file at path as a PKCS #8 PEM
// block readable by its owner only (mode 0600). It refuses to overwrite an
// existing file.
func WritePrivateKeyPEM(path string, key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return errors.New("agentpay: the key is not an Ed25519 private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}

// ReadPrivateKeyPEM reads an Ed25519 key written by WritePrivateKeyPEM (or
// any PKCS #8 "PRIVATE KEY" PEM block holding one).
func ReadPrivateKeyPEM(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("agentpay: %s holds no PKCS #8 PRIVATE KEY PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("agentpay: %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("agentpay: %s holds a %T, not an Ed25519 key", path, k)
	}
	return key, nil
}

// PublicJWK returns the public half of key as the JSON Web Key the server
// registers. It panics if key is not an Ed25519 private key.
func PublicJWK(key ed25519.PrivateKey) []byte {
	return agentauth.JWK(key.Public().(ed25519.PublicKey))
}
