package e2e

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"gopkg.in/yaml.v3"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// No Docker engine runs where these tests run, so the image is checked piece by piece:
// the files the Dockerfile copies exist, the binary it builds is static, its user is
// not root, its paths and port agree with the configuration, and the commands that
// the image and docker-compose.yml run parse.

type dockerInstr struct {
	cmd  string
	args string
}

func dockerfile(t *testing.T) []dockerInstr {
	t.Helper()
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []dockerInstr
	var cont string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line = cont + line
		cont = ""
		cmd, args, _ := strings.Cut(line, " ")
		out = append(out, dockerInstr{strings.ToUpper(cmd), strings.TrimSpace(args)})
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := dockerfile(t)
	stages := 0
	var final []dockerInstr
	for _, in := range ins {
		if in.cmd == "FROM" {
			stages++
			final = nil
		}
		final = append(final, in)
		if in.cmd == "COPY" && !strings.Contains(in.args, "--from=") {
			fields := strings.Fields(in.args)
			for _, src := range fields[:len(fields)-1] {
				if src == "." {
					continue
				}
				if _, err := os.Stat(src); err != nil {
					t.Errorf("COPY %s: %v", src, err)
				}
			}
		}
	}
	if stages < 2 || !strings.HasPrefix(final[0].args, "scratch") {
		t.Fatalf("want a multi-stage build ending FROM scratch, got %d stages, final %v", stages, final[0])
	}
	got := map[string]string{}
	for _, in := range final {
		got[in.cmd] += in.args + "\n"
	}
	if !strings.Contains(got["COPY"], "/etc/ssl/certs/ca-certificates.crt") {
		t.Error("the final image has no CA certificates")
	}
	user := strings.TrimSpace(got["USER"])
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("USER %q: the image must not run as root", user)
	}
	if !strings.Contains(got["ENV"], "EVENTPROC_RULES=/etc/eventproc/events.d") || !strings.Contains(got["COPY"], "events.d /etc/eventproc/events.d") {
		t.Error("events.d is not copied to /etc/eventproc/events.d, or EVENTPROC_RULES does not point there")
	}
	if strings.TrimSpace(got["EXPOSE"]) != "9090" {
		t.Errorf("EXPOSE %q; the worker serves on :9090", got["EXPOSE"])
	}
	// .dockerignore must not drop what the build needs.
	ignore, _ := os.ReadFile(".dockerignore")
	for _, need := range []string{"go.mod", "go.sum", "events.d", "main.go", "cli", "service", "engine"} {
		for _, pat := range strings.Fields(string(ignore)) {
			if ok, _ := filepath.Match(pat, need); ok {
				t.Errorf(".dockerignore drops %s", need)
			}
		}
	}
	// ENTRYPOINT + CMD name a command whose flags parse.
	var entry, cmd []string
	if err := json.Unmarshal([]byte(got["ENTRYPOINT"]), &entry); err != nil || len(entry) != 1 || entry[0] != "/eventproc" {
		t.Fatalf("ENTRYPOINT %q", got["ENTRYPOINT"])
	}
	if err := json.Unmarshal([]byte(got["CMD"]), &cmd); err != nil || len(cmd) == 0 {
		t.Fatalf("CMD %q", got["CMD"])
	}
	checkArgsParse(t, cmd)
}

// checkArgsParse runs eventproc with args and -h: exit 0 means the command exists and
// every flag given parses.
func checkArgsParse(t *testing.T, args []string) {
	t.Helper()
	bin := binary(t)
	out, err := exec.Command(bin, append(append([]string{}, args...), "-h")...).CombinedOutput()
	if err != nil {
		t.Errorf("eventproc %v -h: %v\n%s", args, err, out)
	}
}

// TestStaticBinary builds the binary as the Dockerfile does and checks that it needs
// no dynamic loader or shared library, so it runs on scratch.
func TestStaticBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "eventproc")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries: %v", libs)
	}
}

func TestCompose(t *testing.T) {
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Build       string            `yaml:"build"`
			Image       string            `yaml:"image"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			ReadOnly    bool              `yaml:"read_only"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
			DependsOn map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	ls, prov, wk := doc.Services["localstack"], doc.Services["provision"], doc.Services["worker"]
	if !strings.HasPrefix(ls.Image, "localstack/localstack") || !strings.Contains(ls.Healthcheck.Test[len(ls.Healthcheck.Test)-1], "health") {
		t.Errorf("localstack service: %+v", ls)
	}
	for name, s := range map[string]struct {
		cmd  []string
		env  map[string]string
		vols []string
		ro   bool
	}{"provision": {prov.Command, prov.Environment, prov.Volumes, prov.ReadOnly}, "worker": {wk.Command, wk.Environment, wk.Volumes, wk.ReadOnly}} {
		if len(s.cmd) == 0 {
			t.Fatalf("%s has no command", name)
		}
		checkArgsParse(t, s.cmd)
		if s.env["AWS_ENDPOINT_URL_SQS"] == "" || s.env["AWS_ENDPOINT_URL_DYNAMODB"] == "" {
			t.Errorf("%s is not pointed at LocalStack through the SDK's endpoint variables", name)
		}
		if !contains(s.vols, "./events.d:/etc/eventproc/events.d:ro") {
			t.Errorf("%s does not mount events.d read-only at /etc/eventproc/events.d: %v", name, s.vols)
		}
		if !s.ro {
			t.Errorf("%s does not run on a read-only root filesystem", name)
		}
	}
	if prov.Build != "." || wk.Build != "." {
		t.Error("provision and worker are not built from the Dockerfile")
	}
	if wk.DependsOn["provision"].Condition != "service_completed_successfully" || prov.DependsOn["localstack"].Condition != "service_healthy" {
		t.Errorf("start order: %+v %+v", wk.DependsOn, prov.DependsOn)
	}
	if strings.Join(wk.Healthcheck.Test, " ") != "CMD /eventproc healthcheck" {
		t.Errorf("worker health check %v", wk.Healthcheck.Test)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestHealthcheckCommand(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	if code, _, errs := runCLI(t, "", "healthcheck", "--url", srv.URL+"/readyz"); code != 0 {
		t.Errorf("ready: exit %d %s", code, errs)
	}
	status = http.StatusServiceUnavailable
	if code, _, errs := runCLI(t, "", "healthcheck", "--url", srv.URL+"/readyz"); code != 1 || !strings.Contains(errs, "503") {
		t.Errorf("not ready: exit %d %s", code, errs)
	}
	srv.Close()
	if code, _, _ := runCLI(t, "", "healthcheck", "--url", srv.URL+"/readyz", "--timeout", "500ms"); code != 1 {
		t.Errorf("down: exit %d", code)
	}
}
