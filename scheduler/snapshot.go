package scheduler

import (
	"cmp"
	"slices"
)

// AgentInfo is a row of the agents system table.
type AgentInfo struct {
	ID      string
	Total   Resources
	Used    Resources // held by live tasks
	Offered Resources // in outstanding offers
	Tasks   int       // live tasks
}

// FrameworkInfo is a row of the frameworks system table.
type FrameworkInfo struct {
	Name      string
	Weight    float64
	Allocated Resources // held by live tasks
	Offered   Resources // in outstanding offers
	// DominantShare is the larger of the framework's fractions of the
	// cluster's CPUs and memory held by its live tasks (unweighted).
	DominantShare float64
	Tasks         int
	Offers        int
}

// TaskInfo is a row of the tasks system table.
type TaskInfo struct {
	ID        string
	Job       string
	Framework string
	Agent     string
	State     TaskState
	Resources Resources
}

// Agents returns the registered agents, by id.
func (s *Scheduler) Agents() []AgentInfo {
	counts := map[string]int{}
	for _, t := range s.tasks {
		counts[t.agent]++
	}
	var out []AgentInfo
	for _, a := range s.sortedAgents() {
		out = append(out, AgentInfo{ID: a.id, Total: a.total, Used: a.used, Offered: a.offered, Tasks: counts[a.id]})
	}
	return out
}

// Frameworks returns the registered frameworks, by name.
func (s *Scheduler) Frameworks() []FrameworkInfo {
	tasks, offers := map[string]int{}, map[string]int{}
	for _, t := range s.tasks {
		tasks[t.framework]++
	}
	for _, o := range s.offers {
		offers[o.Framework]++
	}
	total := s.total()
	var out []FrameworkInfo
	for _, fw := range s.frameworks {
		out = append(out, FrameworkInfo{Name: fw.name, Weight: fw.weight, Allocated: fw.allocated,
			Offered: fw.offered, DominantShare: dominantShare(fw.allocated, total),
			Tasks: tasks[fw.name], Offers: offers[fw.name]})
	}
	slices.SortFunc(out, func(x, y FrameworkInfo) int { return cmp.Compare(x.Name, y.Name) })
	return out
}

// Tasks returns the live tasks (terminal tasks are forgotten), by id.
func (s *Scheduler) Tasks() []TaskInfo {
	var out []TaskInfo
	for _, t := range s.sortedTasks() {
		out = append(out, TaskInfo{ID: t.spec.ID, Job: t.spec.Job, Framework: t.framework, Agent: t.agent,
			State: t.state, Resources: t.spec.Resources})
	}
	return out
}

// Offers returns the outstanding offers, oldest first.
func (s *Scheduler) Offers() []Offer {
	var out []Offer
	for _, o := range s.sortedOffers() {
		out = append(out, o.Offer)
	}
	return out
}
