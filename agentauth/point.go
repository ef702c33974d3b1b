package agentauth

import (
	"crypto/ecdh"
	"math/big"
)

// Curve constants of edwards25519 (RFC 8032 §5.1).
var (
	curveP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	curveD = func() *big.Int {
		d := new(big.Int).ModInverse(big.NewInt(121666), curveP)
		d.Mul(d, big.NewInt(-121665))
		return d.Mod(d, curveP)
	}()
	// lowOrderProbe is a fixed X25519 private key; X25519 clamps scalars
	// to multiples of 8, so its product with a point is zero exactly when
	// the point's order divides 8.
	lowOrderProbe = func() *ecdh.PrivateKey {
		scalar := make([]byte, 32)
		for i := range scalar {
			scalar[i] = byte(i + 1)
		}
		key, err := ecdh.X25519().NewPrivateKey(scalar)
		if err != nil {
			panic(err)
		}
		return key
	}()
)

// pointValid reports whether key (32 bytes) is the canonical encoding of a
// point on edwards25519 that is not of small order. A small-order key (the
// identity, for one) lets anyone forge signatures that verify under it, so
// such keys are refused when an agent registers them.
func pointValid(key []byte) bool {
	y, ok := pointY(key)
	if !ok || !pointOnCurve(y, key[31]>>7) {
		return false
	}
	return !pointLowOrder(y)
}

// pointY decodes the little-endian y coordinate, refusing non-canonical
// encodings (y ≥ p).
func pointY(key []byte) (*big.Int, bool) {
	if len(key) != 32 {
		return nil, false
	}
	be := make([]byte, 32)
	for i := range key {
		be[31-i] = key[i]
	}
	be[0] &= 0x7f
	y := new(big.Int).SetBytes(be)
	return y, y.Cmp(curveP) < 0
}

// pointOnCurve reports whether some x with the given sign bit completes y to
// a point: x² = (y² − 1) / (d·y² + 1) must be a square, and x = 0 must come
// with sign 0 (RFC 8032 §5.1.3).
func pointOnCurve(y *big.Int, sign byte) bool {
	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, curveP)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	u.Mod(u, curveP)
	v := new(big.Int).Mul(curveD, y2)
	v.Add(v, big.NewInt(1))
	v.Mod(v, curveP) // never 0: −1/d is not a square modulo p
	x2 := new(big.Int).ModInverse(v, curveP)
	x2.Mul(x2, u)
	x2.Mod(x2, curveP)
	if x2.Sign() == 0 {
		return sign == 0
	}
	return big.Jacobi(x2, curveP) == 1
}

// pointLowOrder reports whether the point with coordinate y has order
// dividing 8. It maps the point to Curve25519 (u = (1 + y) / (1 − y)) and
// lets X25519 detect the all-zero result of multiplying it by a multiple of 8.
func pointLowOrder(y *big.Int) bool {
	den := new(big.Int).Sub(big.NewInt(1), y)
	den.Mod(den, curveP)
	if den.Sign() == 0 {
		return true // y = 1: the identity
	}
	u := new(big.Int).Add(big.NewInt(1), y)
	u.Mul(u, new(big.Int).ModInverse(den, curveP))
	u.Mod(u, curveP)
	be := u.FillBytes(make([]byte, 32))
	le := make([]byte, 32)
	for i := range be {
		le[31-i] = be[i]
	}
	pub, err := ecdh.X25519().NewPublicKey(le)
	if err != nil {
		return true
	}
	_, err = lowOrderProbe.ECDH(pub)
	return err != nil
}
