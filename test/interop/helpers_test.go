package interop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func userMsg(text string) *tollgatev1.Message {
	return &tollgatev1.Message{Role: tollgatev1.Role_ROLE_USER, Content: []*tollgatev1.ContentPart{{Part: &tollgatev1.ContentPart_Text{Text: text}}}}
}

func chatReq(text string) *tollgatev1.ChatRequest {
	return &tollgatev1.ChatRequest{Model: servertest.ChatModel, Messages: []*tollgatev1.Message{userMsg(text)}}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost
// and its key to dir and returns their paths and a pool trusting it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tollgate interop test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// tlsGateway is a gateway serving TLS only.
type tlsGateway struct {
	addr, url, adminToken string
	pool                  *x509.CertPool
}

// startTLSGateway runs a gateway configured with a TLS certificate and key
// (TLS only) until the test ends.
func startTLSGateway(t *testing.T) *tlsGateway {
	t.Helper()
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	g := &tlsGateway{pool: pool}
	gw := servertest.Start(t, servertest.Options{
		Config: func(c *server.Config) {
			c.TLSCert, c.TLSKey = certFile, keyFile
			c.LogLevel = "warn"
		},
		HTTPClient: g.httpClient(),
	})
	g.addr, g.url, g.adminToken = gw.Addr, gw.URL, gw.AdminToken
	return g
}

// httpClient trusts the gateway's certificate.
func (g *tlsGateway) httpClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: g.pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t}
}

// setup registers the fake upstream like servertest.Setup and returns a key.
func (g *tlsGateway) setup(t *testing.T, upstreamURL string) string {
	t.Helper()
	ctx := context.Background()
	admin := tollgate.NewClient(g.url, g.adminToken, tollgate.WithHTTPClient(g.httpClient()))
	calls := []func() error{
		func() error {
			_, err := admin.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
				Provider:   &tollgatev1.Provider{Id: servertest.ProviderID, Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: upstreamURL},
				Credential: servertest.UpstreamKey,
			}))
			return err
		},
		func() error {
			_, err := admin.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{Name: servertest.ChatModel, ProviderId: servertest.ProviderID}}))
			return err
		},
		func() error {
			_, err := admin.Admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: servertest.TeamID}}))
			return err
		},
	}
	for _, call := range calls {
		if err := call(); err != nil {
			t.Fatalf("setup over TLS: %v", err)
		}
	}
	resp, err := admin.Admin.CreateKey(ctx, connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{Name: "tls", TeamId: servertest.TeamID}}))
	if err != nil {
		t.Fatalf("setup over TLS: %v", err)
	}
	return resp.Msg.GetSecret()
}

func newUsageClient(url string, auth connect.Interceptor) tollgatev1connect.UsageServiceClient {
	return tollgatev1connect.NewUsageServiceClient(http.DefaultClient, url, connect.WithInterceptors(auth))
}
