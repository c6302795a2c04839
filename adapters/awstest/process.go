package awstest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is one emulator process on a fixed loopback port. Its methods are safe for
// concurrent use.
type Process struct {
	Name     string // "fauxqs" or "dynalite"
	Port     int
	Endpoint string // http://127.0.0.1:PORT

	argv []string
	env  []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	out    *tailBuffer
	exited chan struct{}
	paused bool
}

// Start starts the process (again) on its port and waits until it accepts connections.
// Starting a running process does nothing.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ { // a restart may meet the old socket in TIME_WAIT
		if err = p.startLocked(); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

func (p *Process) startLocked() error {
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	out := &tailBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, and killed with the test binary should that die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited while starting on port %d: %s", p.Name, p.Port, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			return fmt.Errorf("%s not answering on port %d after 30 s: %s", p.Name, p.Port, out.String())
		}
	}
	p.cmd, p.out, p.exited, p.paused = cmd, out, exited, false
	return nil
}

// Stop kills the process and waits for it to exit. Stopping a stopped process does
// nothing.
func (p *Process) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	pgid := -p.cmd.Process.Pid
	if p.paused {
		syscall.Kill(pgid, syscall.SIGCONT)
	}
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(3 * time.Second):
		syscall.Kill(pgid, syscall.SIGKILL)
		<-p.exited
	}
	p.cmd = nil
	return nil
}

// Pause freezes the process (SIGSTOP): connections are accepted by the kernel but never
// answered, as with a hung server.
func (p *Process) Pause() error { return p.signal(syscall.SIGSTOP, true) }

// Resume continues a paused process (SIGCONT).
func (p *Process) Resume() error { return p.signal(syscall.SIGCONT, false) }

func (p *Process) signal(sig syscall.Signal, paused bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return errors.New(p.Name + " is not running")
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("signal %s: %w", p.Name, err)
	}
	p.paused = paused
	return nil
}

// freePort returns a loopback port that nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
