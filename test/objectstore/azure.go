package objectstore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// Azure is Azure Blob Storage as a pod in Azure reaches it, on 127.0.0.1:
//   - Azurite, the emulator Microsoft publishes, from the npm package hack/build-k8s.sh installs
//     (hack/tools/azurite), serving HTTPS and checking OAuth bearer tokens (--oauth basic: the
//     issuer, audience and lifetime of the token; not its signature);
//   - a Microsoft Entra ID token endpoint that grants tokens for storage to one service principal,
//     by its client secret or by a federated token file (workload identity), and refuses any
//     other, as the real one does;
//   - an HTTPS proxy (HTTPS_PROXY) that routes <account>.blob.core.windows.net:443 and
//     login.microsoftonline.com:443 to those two, and refuses every other host.
//
// So the SDKs under test address the public cloud's own names (a storage account's blob endpoint,
// the default authority host) and authenticate through their default credential chains; nothing
// in them is pointed at a test address. Every TLS certificate comes from a CA made per test, which
// the clients trust through SSL_CERT_FILE.
type Azure struct {
	// Account is the storage account (azb://<account>/<container>/...).
	Account string
	// The service principal the token endpoint knows.
	TenantID, ClientID, ClientSecret string
	// FederatedTokenFile is a workload identity's token, as Azure's webhook projects it.
	FederatedTokenFile string

	dir        string
	proxy      string // host:port of the proxy
	blobAddr   string // Azurite's host:port
	accountKey string
	client     *azblob.Client // the test's own client: shared key, straight to Azurite

	mu     sync.Mutex
	tokens int
}

// StartAzure starts Azurite with an account holding containers, the token endpoint and the
// proxy, all stopped when t ends. Azurite comes from $KUBEBUILDER_ASSETS/azurite (make k8s).
func StartAzure(t testing.TB, containers ...string) *Azure {
	t.Helper()
	a := &Azure{Account: "graphbackups", TenantID: "7f3c2a51-8d4e-4b6a-9c1f-2e5d8a7b3c90", ClientID: "0c6b9e3d-1a2f-4e5b-8c7d-9f0a1b2c3d4e",
		ClientSecret: "not-a-real-secret-" + randomHex(8), dir: t.TempDir()}
	a.accountKey = base64.StdEncoding.EncodeToString([]byte("azurite account key " + randomHex(8)))
	a.FederatedTokenFile = filepath.Join(a.dir, "azure-identity-token")
	if err := os.WriteFile(a.FederatedTokenFile, []byte("federated-"+randomHex(16)), 0o600); err != nil {
		t.Fatal(err)
	}
	leaf, err := writeCA(a.dir, "*."+blobSuffix, entraHost)
	if err != nil {
		t.Fatal(err)
	}
	a.blobAddr = startAzurite(t, a.dir, a.Account+":"+a.accountKey)

	entra := httptest.NewUnstartedServer(http.HandlerFunc(a.entra))
	entra.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	entra.StartTLS()
	t.Cleanup(entra.Close)

	routes := map[string]string{a.Account + "." + blobSuffix + ":443": a.blobAddr, entraHost + ":443": entra.Listener.Addr().String()}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { connect(w, r, routes) }))
	t.Cleanup(proxy.Close)
	a.proxy = proxy.Listener.Addr().String()

	a.client, err = a.sharedKeyClient()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range containers {
		if _, err := a.client.CreateContainer(context.Background(), c, nil); err != nil {
			t.Fatalf("create container %s: %v", c, err)
		}
	}
	return a
}

const (
	blobSuffix = "blob.core.windows.net"
	entraHost  = "login.microsoftonline.com"
)

// Env is what a pod gives neo4j-admin and the agent: the service principal in the variables
// Azure's EnvironmentCredential reads (the operator sets them from the credentials Secret), and
// the test bed's network: its proxy and its CA.
func (a *Azure) Env() []string {
	return append(a.NetworkEnv(), "AZURE_TENANT_ID="+a.TenantID, "AZURE_CLIENT_ID="+a.ClientID, "AZURE_CLIENT_SECRET="+a.ClientSecret)
}

// WorkloadIdentityEnv is what Azure Workload Identity's webhook injects into a pod instead: the
// client and tenant, the authority host and the projected token's file.
func (a *Azure) WorkloadIdentityEnv() []string {
	return append(a.NetworkEnv(), "AZURE_TENANT_ID="+a.TenantID, "AZURE_CLIENT_ID="+a.ClientID,
		"AZURE_AUTHORITY_HOST=https://"+entraHost+"/", "AZURE_FEDERATED_TOKEN_FILE="+a.FederatedTokenFile)
}

// NetworkEnv is the proxy and the CA alone.
func (a *Azure) NetworkEnv() []string {
	return []string{"HTTPS_PROXY=http://" + a.proxy, "NO_PROXY=", "SSL_CERT_FILE=" + filepath.Join(a.dir, "ca.pem")}
}

// Tokens is how many tokens the token endpoint granted.
func (a *Azure) Tokens() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tokens
}

// Put writes a blob; container is the URI's container.
func (a *Azure) Put(t testing.TB, container, name string, data []byte) {
	t.Helper()
	if _, err := a.client.UploadBuffer(context.Background(), container, name, data, nil); err != nil {
		t.Fatal(err)
	}
}

// Keys lists a container's blobs under prefix, sorted.
func (a *Azure) Keys(t testing.TB, container, prefix string) []string {
	t.Helper()
	var keys []string
	pages := a.client.NewListBlobsFlatPager(container, &azblob.ListBlobsFlatOptions{Prefix: &prefix})
	for pages.More() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			keys = append(keys, *b.Name)
		}
	}
	sort.Strings(keys)
	return keys
}

// Get reads a blob.
func (a *Azure) Get(t testing.TB, container, name string) []byte {
	t.Helper()
	r, err := a.client.DownloadStream(context.Background(), container, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	data, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sharedKeyClient reaches Azurite by its address (an emulator's path-style URL) with the
// account key, which only the test holds.
func (a *Azure) sharedKeyClient() (*azblob.Client, error) {
	cred, err := azblob.NewSharedKeyCredential(a.Account, a.accountKey)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(filepath.Join(a.dir, "ca.pem"))
	if err != nil {
		return nil, err
	}
	pool.AppendCertsFromPEM(ca)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	return azblob.NewClientWithSharedKeyCredential("https://"+a.blobAddr+"/"+a.Account+"/", cred,
		&azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: &http.Client{Transport: transport}, Retry: policy.RetryOptions{MaxRetries: 1}}})
}

// entra is the token endpoint's part of Microsoft Entra ID (the v2.0 endpoints MSAL reads:
// instance discovery, the tenant's OpenID configuration, and the token endpoint).
func (a *Azure) entra(w http.ResponseWriter, r *http.Request) {
	base := "https://" + entraHost + "/" + a.TenantID
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	refuse := func(code int, kind, desc string) {
		reply(code, map[string]any{"error": kind, "error_description": desc, "error_codes": []int{}})
	}
	switch {
	case r.URL.Path == "/common/discovery/instance":
		reply(http.StatusOK, map[string]any{
			"tenant_discovery_endpoint": base + "/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata":                  []any{map[string]any{"preferred_network": entraHost, "preferred_cache": entraHost, "aliases": []string{entraHost}}},
		})
	case r.URL.Path == "/"+a.TenantID+"/v2.0/.well-known/openid-configuration":
		reply(http.StatusOK, map[string]any{
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/v2.0",
		})
	case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		refuse(http.StatusBadRequest, "invalid_tenant", "AADSTS90002: Tenant not found.")
	case r.URL.Path == "/"+a.TenantID+"/oauth2/v2.0/token" && r.Method == http.MethodPost:
		if err := r.ParseForm(); err != nil {
			refuse(http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
		federated, _ := os.ReadFile(a.FederatedTokenFile)
		f := r.PostForm
		switch {
		case f.Get("grant_type") != "client_credentials" || !slices.Contains(strings.Fields(f.Get("scope")), "https://storage.azure.com/.default"):
			refuse(http.StatusBadRequest, "invalid_request", "AADSTS900144: a client-credentials grant for https://storage.azure.com/.default is all this endpoint grants")
		case f.Get("client_id") != a.ClientID:
			refuse(http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application not found in the directory.")
		case f.Get("client_secret") != a.ClientSecret && (f.Get("client_assertion") == "" || f.Get("client_assertion") != string(federated)):
			refuse(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
		default:
			a.mu.Lock()
			a.tokens++
			a.mu.Unlock()
			reply(http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": a.accessToken()})
		}
	default:
		refuse(http.StatusNotFound, "invalid_request", "no such endpoint: "+r.URL.Path)
	}
}

// accessToken is a token for storage as Entra ID issues it. Azurite checks its issuer, audience
// and lifetime, not its signature.
func (a *Azure) accessToken() string {
	now := time.Now().Unix()
	enc := func(v any) string {
		data, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(data)
	}
	return enc(map[string]any{"alg": "RS256", "typ": "JWT"}) + "." + enc(map[string]any{
		"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/" + a.TenantID + "/",
		"iat": now - 60, "nbf": now - 60, "exp": now + 3600, "appid": a.ClientID, "tid": a.TenantID,
	}) + "." + base64.RawURLEncoding.EncodeToString([]byte("unsigned"))
}

// connect is the proxy: a CONNECT to a routed host:port is tunnelled to its server on loopback;
// any other is refused, so nothing leaves the machine.
func connect(w http.ResponseWriter, r *http.Request, routes map[string]string) {
	target, ok := routes[r.Host]
	if r.Method != http.MethodConnect || !ok {
		http.Error(w, "the test bed's proxy tunnels only "+strings.Join(sortedKeys(routes), ", "), http.StatusForbidden)
		return
	}
	upstream, err := net.Dial("tcp", target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	go func() {
		defer upstream.Close()
		defer conn.Close()
		if n := buf.Reader.Buffered(); n > 0 {
			data, _ := buf.Reader.Peek(n)
			upstream.Write(data)
		}
		go io.Copy(conn, upstream)
		io.Copy(upstream, conn)
	}()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// azuriteListens is the line Azurite prints when it is up, with the port it took.
var azuriteListens = regexp.MustCompile(`successfully listens on https://127\.0\.0\.1:(\d+)`)

// startAzurite runs Azurite's blob service on a free port over HTTPS with dir's certificate,
// with the one account given (name:base64 key), and returns its host:port.
func startAzurite(t testing.TB, dir, account string) string {
	t.Helper()
	bin := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "azurite", "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("Azurite is not installed at %s (KUBEBUILDER_ASSETS=$(hack/build-k8s.sh) installs it): %v", bin, err)
	}
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", "0", "--cert", filepath.Join(dir, "cert.pem"), "--key", filepath.Join(dir, "key.pem"),
		"--oauth", "basic", "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck")
	cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+account)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			if m := azuriteListens.FindStringSubmatch(lines.Text()); m != nil {
				port <- m[1]
			}
		}
		close(port)
	}()
	select {
	case p, ok := <-port:
		if !ok {
			t.Fatalf("Azurite stopped before listening: %s", stderr.String())
		}
		return "127.0.0.1:" + p
	case <-time.After(60 * time.Second):
		t.Fatalf("Azurite did not listen within 60 s: %s", stderr.String())
	}
	return ""
}

// writeCA makes a CA and a certificate for 127.0.0.1 and names, and writes ca.pem, cert.pem and
// key.pem into dir.
func writeCA(dir string, names ...string) (tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	notBefore := time.Now().Add(-time.Hour)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test bed CA"}, NotBefore: notBefore, NotAfter: notBefore.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, NotBefore: notBefore, NotAfter: notBefore.Add(48 * time.Hour),
		DNSNames: names, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	for name, data := range map[string][]byte{"ca.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return tls.Certificate{}, err
		}
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("no randomness: " + err.Error()))
	}
	return fmt.Sprintf("%x", b)
}
