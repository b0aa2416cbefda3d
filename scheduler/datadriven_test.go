package scheduler

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// Test files count time from the zero time.Time, so "tick now=10s" is ten
// seconds after the start, and times are printed the same way.
var epoch time.Time

func rel(t time.Time) string { return t.Sub(epoch).String() }

// parseBytes reads "4GiB", "512MiB", "1KiB" or a plain byte count.
func parseBytes(s string) (int64, error) {
	for i, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if n, ok := strings.CutSuffix(s, u); ok {
			v, err := strconv.ParseFloat(n, 64)
			return int64(v * float64(int64(1)<<(10*(i+1)))), err
		}
	}
	return strconv.ParseInt(strings.TrimSuffix(s, "B"), 10, 64)
}

type harness struct {
	sched *Scheduler
	sup   *Supervisor
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

func fmtAction(a Action) string {
	switch a := a.(type) {
	case Offer:
		return fmt.Sprintf("offer %s to %s: %s %s (expires %s)", a.ID, a.Framework, a.Agent, a.Resources, rel(a.Expires))
	case Rescind:
		return fmt.Sprintf("rescind %s from %s (%s)", a.OfferID, a.Framework, a.Agent)
	case Launch:
		return fmt.Sprintf("launch %s job=%s on %s for %s: %s", a.Task.ID, a.Task.Job, a.Agent, a.Framework, a.Task.Resources)
	case Kill:
		return fmt.Sprintf("kill %s on %s", a.TaskID, a.Agent)
	case TaskStatus:
		return fmt.Sprintf("status %s %s to %s (agent %q)%s", a.TaskID, a.State, a.Framework, a.Agent, fmtErr(a.Err))
	case RestartJob:
		return fmt.Sprintf("restart %s attempt=%d due=%s", a.Job, a.Attempt, rel(a.At))
	case JobFailed:
		return fmt.Sprintf("job-failed %s%s", a.Job, fmtErr(a.Err))
	case AgentGone:
		return fmt.Sprintf("agent-gone %s%s", a.ID, fmtErr(a.Err))
	case Rejected:
		return "rejected" + fmtErr(a.Err)
	}
	return fmt.Sprintf("unknown action %T", a)
}

func fmtActions(as []Action) string {
	if len(as) == 0 {
		return "ok\n"
	}
	var b strings.Builder
	for _, a := range as {
		b.WriteString(fmtAction(a))
		b.WriteByte('\n')
	}
	return b.String()
}

// args reads key=value pairs from the command line or an input line.
func args(fields []string) (map[string]string, error) {
	m := map[string]string{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("expected key=value, got %q", f)
		}
		m[k] = v
	}
	return m, nil
}

func cmdArgs(td *datadriven.TestData) (map[string]string, error) {
	var fields []string
	for _, a := range td.CmdArgs {
		fields = append(fields, a.Key+"="+strings.Join(a.Vals, ","))
	}
	return args(fields)
}

func parseResources(m map[string]string) (Resources, error) {
	var r Resources
	var err error
	if v, ok := m["cpus"]; ok {
		if r.CPUs, err = strconv.ParseFloat(v, 64); err != nil {
			return r, err
		}
	}
	if v, ok := m["mem"]; ok {
		if r.MemBytes, err = parseBytes(v); err != nil {
			return r, err
		}
	}
	return r, nil
}

func parseDur(m map[string]string, key string) (time.Duration, error) {
	v, ok := m[key]
	if !ok {
		return 0, nil
	}
	return time.ParseDuration(v)
}

func parseErr(m map[string]string) error {
	if v, ok := m["err"]; ok {
		return errors.New(v)
	}
	return nil
}

func taskSpec(m map[string]string) (TaskSpec, error) {
	r, err := parseResources(m)
	job := m["job"]
	if job == "" {
		job = m["task"]
	}
	return TaskSpec{ID: m["task"], Job: job, Resources: r}, err
}

func (h *harness) run(td *datadriven.TestData) (string, error) {
	m, err := cmdArgs(td)
	if err != nil {
		return "", err
	}
	step := func(ev Event) string { return fmtActions(h.sched.Step(ev)) }
	switch td.Cmd {
	case "new":
		var cfg Config
		var sc SupervisorConfig
		for _, f := range []struct {
			key string
			dst *time.Duration
		}{{"offer-timeout", &cfg.OfferTimeout}, {"refuse", &cfg.DefaultRefuse}, {"agent-timeout", &cfg.AgentTimeout}, {"initial", &sc.InitialBackoff},
			{"max", &sc.MaxBackoff}, {"window", &sc.Window}} {
			if *f.dst, err = parseDur(m, f.key); err != nil {
				return "", err
			}
		}
		if v, ok := m["multiplier"]; ok {
			if sc.Multiplier, err = strconv.ParseFloat(v, 64); err != nil {
				return "", err
			}
		}
		if v, ok := m["max-restarts"]; ok {
			if sc.MaxRestarts, err = strconv.Atoi(v); err != nil {
				return "", err
			}
		}
		h.sched, h.sup = New(cfg), NewSupervisor(sc)
		return "ok\n", nil
	case "register-agent":
		r, err := parseResources(m)
		if err != nil {
			return "", err
		}
		return step(RegisterAgent{ID: m["id"], Resources: r, Heartbeats: m["heartbeats"] == "true"}), nil
	case "heartbeat":
		return step(AgentHeartbeat{ID: m["id"]}), nil
	case "agent-lost":
		return step(AgentLost{ID: m["id"], Err: parseErr(m)}), nil
	case "register-framework":
		var w float64
		if v, ok := m["weight"]; ok {
			if w, err = strconv.ParseFloat(v, 64); err != nil {
				return "", err
			}
		}
		return step(RegisterFramework{Name: m["name"], Weight: w}), nil
	case "accept":
		var tasks []TaskSpec
		if _, ok := m["task"]; ok {
			t, err := taskSpec(m)
			if err != nil {
				return "", err
			}
			tasks = append(tasks, t)
		}
		for _, line := range strings.Split(td.Input, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			lm, err := args(strings.Fields(line))
			if err != nil {
				return "", err
			}
			t, err := taskSpec(lm)
			if err != nil {
				return "", err
			}
			tasks = append(tasks, t)
		}
		return step(Accept{Framework: m["framework"], OfferID: m["offer"], Tasks: tasks}), nil
	case "decline":
		d, err := parseDur(m, "refuse")
		if err != nil {
			return "", err
		}
		return step(Decline{Framework: m["framework"], OfferID: m["offer"], RefuseFor: d}), nil
	case "revive":
		return step(Revive{Framework: m["framework"]}), nil
	case "status":
		st, err := ParseTaskState(m["state"])
		if err != nil {
			return "", err
		}
		return step(StatusUpdate{TaskID: m["task"], State: st, Err: parseErr(m)}), nil
	case "kill":
		return step(KillTask{TaskID: m["task"]}), nil
	case "tick":
		d, err := parseDur(m, "now")
		if err != nil {
			return "", err
		}
		now := epoch.Add(d)
		return fmtActions(append(h.sched.Step(Tick{Now: now}), h.sup.Step(Tick{Now: now})...)), nil
	case "supervise":
		return fmtActions(h.sup.Step(Supervise{Job: m["job"]})), nil
	case "supervisor-fail":
		return fmtActions(h.sup.Step(JobFailure{Job: m["job"], Err: parseErr(m)})), nil
	case "supervisor-stop":
		return fmtActions(h.sup.Step(JobStopped{Job: m["job"]})), nil
	case "offers":
		var b strings.Builder
		for _, o := range h.sched.Offers() {
			b.WriteString(fmtAction(o) + "\n")
		}
		return orNone(b.String()), nil
	case "agents":
		var b strings.Builder
		for _, a := range h.sched.Agents() {
			fmt.Fprintf(&b, "%s total=(%s) used=(%s) offered=(%s) tasks=%d\n", a.ID, a.Total, a.Used, a.Offered, a.Tasks)
		}
		return orNone(b.String()), nil
	case "frameworks":
		var b strings.Builder
		for _, f := range h.sched.Frameworks() {
			fmt.Fprintf(&b, "%s weight=%g share=%.3f allocated=(%s) offered=(%s) tasks=%d offers=%d\n",
				f.Name, f.Weight, f.DominantShare, f.Allocated, f.Offered, f.Tasks, f.Offers)
		}
		return orNone(b.String()), nil
	case "tasks":
		var b strings.Builder
		for _, t := range h.sched.Tasks() {
			fmt.Fprintf(&b, "%s job=%s framework=%s agent=%s %s %s\n", t.ID, t.Job, t.Framework, t.Agent, t.State, t.Resources)
		}
		return orNone(b.String()), nil
	case "jobs":
		var b strings.Builder
		for _, j := range h.sup.Jobs() {
			fmt.Fprintf(&b, "%s %s restarts=%d", j.Job, j.State, j.Restarts)
			if j.State == JobBackoff {
				fmt.Fprintf(&b, " retry-at=%s", rel(j.RetryAt))
			}
			fmt.Fprintf(&b, "%s\n", fmtErr(j.LastErr))
		}
		return orNone(b.String()), nil
	}
	return "", fmt.Errorf("unknown command %q", td.Cmd)
}

func orNone(s string) string {
	if s == "" {
		return "none\n"
	}
	return s
}

func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		h := &harness{sched: New(Config{}), sup: NewSupervisor(SupervisorConfig{})}
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			out, err := h.run(td)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			return out
		})
	})
}
