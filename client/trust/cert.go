// Package trust holds what the HTTPS API trusts and how: key pairs made on first use, the
// SHA-256 fingerprints that name certificates, and LXD's one-time join tokens.
package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"time"

	"lite/client/api"
)

// Fingerprint is the SHA-256 of a certificate's DER bytes, lowercase hex, as LXD names them.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// PEMFingerprint parses one PEM certificate and returns its fingerprint and DER bytes.
func PEMFingerprint(certPEM string) (string, []byte, error) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return "", nil, fmt.Errorf("certificate: want one PEM \"CERTIFICATE\" block: %w", api.ErrInvalid)
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return "", nil, fmt.Errorf("certificate: %v: %w", err, api.ErrInvalid)
	}
	return Fingerprint(block.Bytes), block.Bytes, nil
}

// EncodePEM returns the PEM text of a DER certificate.
func EncodePEM(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// KeyPair loads certFile and keyFile, making a new self-signed ECDSA P-384 pair first when
// neither exists. The key is written 0600 before any byte of it, and a key file that others
// can read is refused.
func KeyPair(certFile, keyFile, commonName string) (tls.Certificate, error) {
	_, cerr := os.Stat(certFile)
	_, kerr := os.Stat(keyFile)
	if errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist) {
		if err := generate(certFile, keyFile, commonName); err != nil {
			return tls.Certificate{}, err
		}
	}
	st, err := os.Stat(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("key %s: %w", keyFile, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return tls.Certificate{}, fmt.Errorf("key %s is readable by others (mode %o): chmod 600 it: %w", keyFile, st.Mode().Perm(), api.ErrForbidden)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load key pair %s: %w", certFile, err)
	}
	return pair, nil
}

func generate(certFile, keyFile, commonName string) error {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return fmt.Errorf("generate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"lite"}, CommonName: commonName},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{commonName},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create certificate: %w", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	if err := writeNew(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return writeNew(certFile, []byte(EncodePEM(der)), 0o644)
}

// writeNew writes a file that must not exist yet (O_EXCL: a planted symlink is not followed).
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
