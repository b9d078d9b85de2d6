// Package wrentest runs franz-go (kgo and kadm) against the Wren binary.
//
// Each test starts its own Wren ($WREN_BIN, default <repo>/target/debug/wren) with
// `--listen 127.0.0.1:0 --data-dir <tmp>`, reads the `wren listening on HOST:PORT` line and
// stops it with SIGTERM at cleanup, asserting a clean exit (status 0), as the Python suite does.
package wrentest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	startTimeout  = 30 * time.Second
	stopTimeout   = 30 * time.Second
	listenPrefix  = "wren listening on "
	controlPrefix = "wren control on "
)

type wren struct {
	addr    string
	control string // http://HOST:PORT of the control listener, when started with --control
	stderr  string // path of the broker's stderr log
}

func wrenBin(t *testing.T) string {
	if bin := os.Getenv("WREN_BIN"); bin != "" {
		return bin
	}
	bin, err := filepath.Abs(filepath.Join("..", "..", "target", "debug", "wren"))
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// brokerEnv drops WREN_BIN: Wren reads every WREN_<KEY> variable as a broker config key and
// refuses unknown ones.
func brokerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WREN_BIN=") {
			env = append(env, kv)
		}
	}
	return env
}

// startWren starts a fresh broker for t; extra arguments (e.g. --fault JSON) are appended.
func startWren(t *testing.T, extra ...string) *wren {
	t.Helper()
	dir := t.TempDir()
	stderrPath := filepath.Join(dir, "wren.stderr.log")
	stderr, err := os.Create(stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data")}, extra...)
	cmd := exec.Command(wrenBin(t), args...)
	cmd.Env = brokerEnv()
	cmd.Stderr = stderr
	// The broker dies with the test binary, e.g. when an outer timeout kills `go test`.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	addrs, controls := make(chan string, 1), make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), listenPrefix); ok {
				addrs <- addr
			} else if addr, ok := strings.CutPrefix(sc.Text(), controlPrefix); ok {
				controls <- addr
			}
		}
		// Keep draining so the broker never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}()
	w := &wren{stderr: stderrPath}
	t.Cleanup(func() { stopWren(t, cmd, stderr, stderrPath) })
	w.addr = awaitLine(t, addrs, listenPrefix, stderrPath)
	if slices.Contains(extra, "--control") {
		w.control = "http://" + awaitLine(t, controls, controlPrefix, stderrPath)
	}
	return w
}

func awaitLine(t *testing.T, lines chan string, prefix, stderrPath string) string {
	t.Helper()
	select {
	case line := <-lines:
		return line
	case <-time.After(startTimeout):
		t.Fatalf("no %q line within %s; stderr:\n%s", prefix, startTimeout, tail(stderrPath))
		return ""
	}
}

func stopWren(t *testing.T, cmd *exec.Cmd, stderr *os.File, stderrPath string) {
	defer stderr.Close()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("wren did not exit cleanly after SIGTERM: %v; stderr:\n%s", err, tail(stderrPath))
		}
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("wren still running %s after SIGTERM; stderr:\n%s", stopTimeout, tail(stderrPath))
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// client returns a kgo client bootstrapped at w, closed at cleanup.
func (w *wren) client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(w.addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func (w *wren) admin(t *testing.T) *kadm.Client {
	return kadm.NewClient(w.client(t))
}

// createTopic creates topic with the given partition count and fails t on any error.
func (w *wren) createTopic(t *testing.T, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := w.admin(t).CreateTopics(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// testCtx bounds a test's client calls so a hang fails the test instead of the whole run.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// consumeAll reads topic from the start with a plain (group-less) consumer until want records
// arrived or ctx ends; opts add e.g. the isolation level.
func consumeAll(ctx context.Context, t *testing.T, w *wren, topic string, want int, stop func(*kgo.Record) bool, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl := w.client(t, append([]kgo.Opt{kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	var got []*kgo.Record
	for {
		if want >= 0 && len(got) >= want {
			return got
		}
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consuming %s: %v after %d records (wanted %d)", topic, ctx.Err(), len(got), want)
		}
		for _, fe := range fetches.Errors() {
			t.Fatalf("fetch %s[%d]: %v", fe.Topic, fe.Partition, fe.Err)
		}
		done := false
		fetches.EachRecord(func(r *kgo.Record) {
			got = append(got, r)
			if stop != nil && stop(r) {
				done = true
			}
		})
		if done {
			return got
		}
	}
}

func value(i int) []byte { return []byte(fmt.Sprintf("%06d", i)) }

// faultsFired asks the control listener how often each fault rule fired, oldest rule first.
func (w *wren) faultsFired(t *testing.T) []uint64 {
	t.Helper()
	resp, err := http.Get(w.control + "/v1/faults")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rules []struct {
		Fired uint64 `json:"fired"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rules); err != nil {
		t.Fatalf("GET /v1/faults: %v", err)
	}
	fired := make([]uint64, len(rules))
	for i, r := range rules {
		fired[i] = r.Fired
	}
	return fired
}
