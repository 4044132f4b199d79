package api

// CertificateTypeClient is the only certificate type lite trusts: a client of the HTTPS API.
const CertificateTypeClient = "client"

// CertificatePut is the writable part of a trusted certificate.
type CertificatePut struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Restricted  bool     `json:"restricted"`
	Projects    []string `json:"projects"`
	Certificate string   `json:"certificate"`
}

// Certificate is one trusted client certificate (GET /1.0/certificates/{fingerprint}).
type Certificate struct {
	CertificatePut
	Fingerprint string `json:"fingerprint"`
}

// CertificatesPost adds a certificate (POST /1.0/certificates). A trusted client sends the
// certificate (PEM) or asks for a join token (Token); an untrusted client sends a token as
// Password (LXD 5.0's client) or TrustToken, and its TLS client certificate is the one added.
type CertificatesPost struct {
	CertificatePut
	Password   string `json:"password"`
	TrustToken string `json:"trust_token"`
	Token      bool   `json:"token"`
}

// CertificateAddToken is the join token `lite config trust add` prints, base64 of this JSON,
// as LXD's.
type CertificateAddToken struct {
	ClientName  string   `json:"client_name"`
	Fingerprint string   `json:"fingerprint"`
	Addresses   []string `json:"addresses"`
	Secret      string   `json:"secret"`
	ExpiresAt   string   `json:"expires_at"`
}
