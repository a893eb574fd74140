// osm-go-pkcs7-harness: Go's pkcs7 package (go.mozilla.org/pkcs7, Debian's
// golang-github-fullsailor-pkcs7-dev) as one program with two modes.
//
// Run with an argv it does one call and exits (the suite's "cli" engine mode,
// replayable by hand); run with --serve it speaks osm-harness/1 (JSON lines on
// stdin/stdout) and answers the same argv vocabulary without a process start.
// It does CMS only: the S/MIME MIME around it is the suite's. See README.md.
package main

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"go.mozilla.org/pkcs7"
)

const (
	implementation = "go-pkcs7"
	// The Debian package's upstream snapshot (debian/changelog); the module has no version.
	libraryVersion = "0.0~git20210826.33d0574"
	exitFailure    = 1 // the library refused: its error is on stderr
	exitUsage      = 2 // a bad argv (or, in serve mode, a request it cannot parse)
	exitPanic      = 3 // the library panicked on this input
)

func version() string {
	return fmt.Sprintf("go.mozilla.org/pkcs7 %s (%s)", libraryVersion, runtime.Version())
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// flags is a tiny argv reader: --name value pairs, repeatable, and bare --switches.
type flags struct {
	values   map[string][]string
	switches map[string]bool
}

var switchNames = map[string]bool{"--detached": true, "--noattr": true, "--noverify": true}

func parseFlags(args []string) (*flags, error) {
	f := &flags{values: map[string][]string{}, switches: map[string]bool{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case switchNames[a]:
			f.switches[a] = true
		case strings.HasPrefix(a, "--") && i+1 < len(args):
			f.values[a] = append(f.values[a], args[i+1])
			i++
		default:
			return nil, usageError{fmt.Sprintf("unexpected argument %q", a)}
		}
	}
	return f, nil
}

func (f *flags) one(name string, required bool) (string, error) {
	v := f.values[name]
	if len(v) == 0 {
		if required {
			return "", usageError{"missing " + name}
		}
		return "", nil
	}
	return v[len(v)-1], nil
}

// readDER reads a file holding DER, or PEM (the first block).
func readDER(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if block, _ := pem.Decode(data); block != nil {
		return block.Bytes, nil
	}
	return data, nil
}

func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return certs, nil
}

func readKey(path string) (crypto.PrivateKey, error) {
	der, err := readDER(path)
	if err != nil {
		return nil, err
	}
	if key, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return key, nil
	}
	if key, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return key, nil
	}
	return nil, fmt.Errorf("%s: not a PKCS#8 or PKCS#1 private key", path)
}

var digests = map[string]asn1.ObjectIdentifier{
	"sha1":   pkcs7.OIDDigestAlgorithmSHA1,
	"sha256": pkcs7.OIDDigestAlgorithmSHA256,
	"sha384": pkcs7.OIDDigestAlgorithmSHA384,
	"sha512": pkcs7.OIDDigestAlgorithmSHA512,
}

var ciphers = map[string]int{
	"des-cbc":    pkcs7.EncryptionAlgorithmDESCBC,
	"aes128-cbc": pkcs7.EncryptionAlgorithmAES128CBC,
	"aes256-cbc": pkcs7.EncryptionAlgorithmAES256CBC,
	"aes128-gcm": pkcs7.EncryptionAlgorithmAES128GCM,
	"aes256-gcm": pkcs7.EncryptionAlgorithmAES256GCM,
}

// sign --cert C --key K [--certfile CHAIN] [--digest D] [--detached] [--noattr] --in F --out F
func sign(f *flags, stdout io.Writer) error {
	certPath, err := f.one("--cert", true)
	if err != nil {
		return err
	}
	keyPath, err := f.one("--key", true)
	if err != nil {
		return err
	}
	in, err := f.one("--in", true)
	if err != nil {
		return err
	}
	out, err := f.one("--out", true)
	if err != nil {
		return err
	}
	certs, err := readCerts(certPath)
	if err != nil {
		return err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return err
	}
	content, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var parents []*x509.Certificate
	if chain, _ := f.one("--certfile", false); chain != "" {
		if parents, err = readCerts(chain); err != nil {
			return err
		}
	}
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return err
	}
	if name, _ := f.one("--digest", false); name != "" {
		oid, ok := digests[name]
		if !ok {
			return usageError{"unknown --digest " + name}
		}
		sd.SetDigestAlgorithm(oid)
	}
	if f.switches["--noattr"] {
		// SignWithoutAttr takes no chain: the intermediates are added as certificates.
		err = sd.SignWithoutAttr(certs[0], key, pkcs7.SignerInfoConfig{})
		for _, parent := range parents {
			sd.AddCertificate(parent)
		}
	} else {
		err = sd.AddSignerChain(certs[0], key, parents, pkcs7.SignerInfoConfig{})
	}
	if err != nil {
		return err
	}
	if f.switches["--detached"] {
		sd.Detach()
	}
	der, err := sd.Finish()
	if err != nil {
		return err
	}
	return os.WriteFile(out, der, 0o600)
}

// verify --in P7 [--content F] [--CAfile F] [--noverify] [--out F] [--signer F]
func verify(f *flags, stdout io.Writer) error {
	in, err := f.one("--in", true)
	if err != nil {
		return err
	}
	der, err := readDER(in)
	if err != nil {
		return err
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return err
	}
	if contentPath, _ := f.one("--content", false); contentPath != "" {
		// A detached signature: the library verifies p7.Content, which the caller sets.
		if p7.Content, err = os.ReadFile(contentPath); err != nil {
			return err
		}
	}
	if signerPath, _ := f.one("--signer", false); signerPath != "" {
		if signer := p7.GetOnlySigner(); signer != nil {
			block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signer.Raw})
			if err := os.WriteFile(signerPath, block, 0o600); err != nil {
				return err
			}
		}
	}
	if f.switches["--noverify"] {
		err = p7.Verify()
	} else {
		caFile, err2 := f.one("--CAfile", true)
		if err2 != nil {
			return err2
		}
		roots, err2 := readCerts(caFile)
		if err2 != nil {
			return err2
		}
		pool := x509.NewCertPool()
		for _, c := range roots {
			pool.AddCert(c)
		}
		err = p7.VerifyWithChain(pool)
	}
	if err != nil {
		return err
	}
	if out, _ := f.one("--out", false); out != "" {
		if err := os.WriteFile(out, p7.Content, 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "Verification successful")
	return nil
}

// encrypt --cipher C --recip CERT [--recip CERT...] --in F --out F
func encrypt(f *flags, stdout io.Writer) error {
	in, err := f.one("--in", true)
	if err != nil {
		return err
	}
	out, err := f.one("--out", true)
	if err != nil {
		return err
	}
	name, err := f.one("--cipher", true)
	if err != nil {
		return err
	}
	alg, ok := ciphers[name]
	if !ok {
		return fmt.Errorf("pkcs7 has no content cipher %s (it has des-cbc, aes128-cbc, aes256-cbc, aes128-gcm, aes256-gcm)", name)
	}
	var recipients []*x509.Certificate
	for _, path := range f.values["--recip"] {
		certs, err := readCerts(path)
		if err != nil {
			return err
		}
		recipients = append(recipients, certs[0])
	}
	if len(recipients) == 0 {
		return usageError{"missing --recip"}
	}
	content, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	// The package chooses its cipher through a global (default single DES).
	pkcs7.ContentEncryptionAlgorithm = alg
	der, err := pkcs7.Encrypt(content, recipients)
	if err != nil {
		return err
	}
	return os.WriteFile(out, der, 0o600)
}

// decrypt --cert C --key K --in F --out F
func decrypt(f *flags, stdout io.Writer) error {
	in, err := f.one("--in", true)
	if err != nil {
		return err
	}
	out, err := f.one("--out", true)
	if err != nil {
		return err
	}
	certPath, err := f.one("--cert", true)
	if err != nil {
		return err
	}
	keyPath, err := f.one("--key", true)
	if err != nil {
		return err
	}
	certs, err := readCerts(certPath)
	if err != nil {
		return err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return err
	}
	der, err := readDER(in)
	if err != nil {
		return err
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return err
	}
	content, err := p7.Decrypt(certs[0], key)
	if err != nil {
		return err
	}
	return os.WriteFile(out, content, 0o600)
}

var commands = map[string]func(*flags, io.Writer) error{
	"sign": sign, "verify": verify, "encrypt": encrypt, "decrypt": decrypt,
}

// call runs one argv as the command line would: exit code, and what it printed.
func call(argv []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "osm-go-pkcs7: panic in pkcs7: %v\n%s", r, debug.Stack())
			code = exitPanic
		}
	}()
	if len(argv) == 1 && argv[0] == "version" {
		fmt.Fprintln(stdout, version())
		return 0
	}
	if len(argv) == 0 || commands[argv[0]] == nil {
		fmt.Fprintf(stderr, "osm-harness: not implemented here: %s\nusage: osm-go-pkcs7-harness sign|verify|encrypt|decrypt|version ... | --serve\n", strings.Join(argv, " "))
		return exitUsage
	}
	f, err := parseFlags(argv[1:])
	if err == nil {
		err = commands[argv[0]](f, stdout)
	}
	var usage usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "osm-go-pkcs7 %s: %v\n", argv[0], err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "osm-go-pkcs7 %s: %v\n", argv[0], err)
		return exitFailure
	}
}

type request struct {
	ID    json.RawMessage `json:"id"`
	Argv  []string        `json:"argv"`
	Stdin string          `json:"stdin"`
	Cwd   string          `json:"cwd"`
}

type reply struct {
	ID     json.RawMessage `json:"id"`
	Exit   int             `json:"exit"`
	Stdout string          `json:"stdout"`
	Stderr string          `json:"stderr"`
}

// captured runs one call with os.Stdout redirected: the package prints some of its
// errors with fmt.Printf, which must reach the caller, not the protocol stream.
func captured(argv []string) (int, []byte, []byte) {
	var out, errs bytes.Buffer
	saved := os.Stdout
	r, w, err := os.Pipe()
	if err != nil {
		return exitUsage, nil, []byte(err.Error())
	}
	done := make(chan struct{})
	var printed bytes.Buffer
	go func() { io.Copy(&printed, r); close(done) }()
	os.Stdout = w
	code := call(argv, &out, &errs)
	os.Stdout = saved
	w.Close()
	<-done
	r.Close()
	return code, append(printed.Bytes(), out.Bytes()...), errs.Bytes()
}

func serve() int {
	proto := os.Stdout
	enc := json.NewEncoder(proto)
	hello := map[string]string{"protocol": "osm-harness/1", "implementation": implementation, "version": version()}
	if err := enc.Encode(hello); err != nil {
		return 1
	}
	home, _ := os.Getwd()
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req request
			var rep reply
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				rep = reply{ID: json.RawMessage("null"), Exit: exitUsage,
					Stderr: base64.StdEncoding.EncodeToString([]byte("osm-go-pkcs7: bad request: " + jerr.Error() + "\n"))}
			} else {
				dir := req.Cwd
				if dir == "" {
					dir = home
				}
				var code int
				var stdout, stderr []byte
				if cerr := os.Chdir(dir); cerr != nil {
					code, stderr = exitUsage, []byte("osm-go-pkcs7: cwd: "+cerr.Error()+"\n")
				} else {
					code, stdout, stderr = captured(req.Argv)
				}
				rep = reply{ID: req.ID, Exit: code,
					Stdout: base64.StdEncoding.EncodeToString(stdout),
					Stderr: base64.StdEncoding.EncodeToString(stderr)}
			}
			if rep.ID == nil {
				rep.ID = json.RawMessage("null")
			}
			if err := enc.Encode(rep); err != nil {
				return 1
			}
		}
		if err != nil {
			return 0
		}
	}
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--serve" {
		os.Exit(serve())
	}
	os.Exit(call(os.Args[1:], os.Stdout, os.Stderr))
}
