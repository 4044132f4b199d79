package api

import "time"

// LabsPost is `lite lab up`: the lab file and the host files it names, which the client reads
// (the daemon may be remote) and sends by the name written in the lab file.
type LabsPost struct {
	// Source is the lab file's text (YAML); lited validates it again.
	Source string `json:"source" yaml:"source"`
	// Filename names the lab file in error messages.
	Filename string `json:"filename" yaml:"filename"`
	// Files holds each files: source and ssh_keys entry, by the name written in the file.
	Files map[string][]byte `json:"files" yaml:"files"`
	// DefaultSSHKeys are the invoking user's public keys, for nodes whose file names none.
	DefaultSSHKeys []string `json:"default_ssh_keys" yaml:"default_ssh_keys"`
	// Only limits up to these nodes (and what they depend on).
	Only []string `json:"only" yaml:"only"`
	// Prune deletes nodes that the file no longer has.
	Prune bool `json:"prune" yaml:"prune"`
	// Recreate deletes these nodes and makes and provisions them again (how an edit of a
	// node's nics or image is applied).
	Recreate []string `json:"recreate" yaml:"recreate"`
	// DryRun computes the plan (lite lab diff) without changing anything.
	DryRun bool `json:"dry_run" yaml:"dry_run"`
	// Share is set only by the cluster member that coordinates an up, in the request it
	// sends another member: that member's part of the work.
	Share *LabShare `json:"share,omitempty" yaml:"share,omitempty"`
}

// LabShare is one member's part of a lab up in a cluster: the coordinator has placed Nodes on
// that member and sends them in dependency order, so the member makes exactly these (their
// dependencies are done). Housekeeping applies the updates and deletions of the lab's nodes
// that already live on the member.
type LabShare struct {
	Nodes        []string `json:"nodes" yaml:"nodes"`
	Housekeeping bool     `json:"housekeeping" yaml:"housekeeping"`
}

// Lab is a lab as lited knows it.
type Lab struct {
	Name      string    `json:"name" yaml:"name"`
	Status    string    `json:"status" yaml:"status"`
	Nodes     []LabNode `json:"nodes" yaml:"nodes"`
	Networks  []string  `json:"networks" yaml:"networks"`
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`
}

// LabNode is one node of a lab and its live state.
type LabNode struct {
	Name        string            `json:"name" yaml:"name"`
	Status      string            `json:"status" yaml:"status"`
	Groups      []string          `json:"groups" yaml:"groups"`
	Addresses   map[string]string `json:"addresses" yaml:"addresses"`
	Provisioned bool              `json:"provisioned" yaml:"provisioned"`
	// Error is why provisioning failed: the command, its exit code and its last lines.
	Error      string `json:"error" yaml:"error"`
	CPUUsageNs int64  `json:"cpu_usage_ns" yaml:"cpu_usage_ns"`
	// Location is the cluster member the node lives on ("" on a single host).
	Location    string `json:"location,omitempty" yaml:"location,omitempty"`
	MemoryUsage int64  `json:"memory_usage" yaml:"memory_usage"`
}

// LabChange is one step of a lab plan, as `lite lab diff` shows it.
type LabChange struct {
	// Action is create, update, delete or keep.
	Action string `json:"action" yaml:"action"`
	// Kind is network, node or link.
	Kind   string `json:"kind" yaml:"kind"`
	Name   string `json:"name" yaml:"name"`
	Detail string `json:"detail" yaml:"detail"`
}

// LabPlan is what an up would change (dry run) or changed.
type LabPlan struct {
	Name    string      `json:"name" yaml:"name"`
	Changes []LabChange `json:"changes" yaml:"changes"`
}

// LabSnapshotsPost takes a snapshot of every node of a lab at one consistent point.
type LabSnapshotsPost struct {
	Name string `json:"name" yaml:"name"`
}

// LabRestorePost brings every node of a lab back to one of its lab snapshots.
type LabRestorePost struct {
	Snapshot string `json:"snapshot" yaml:"snapshot"`
}

// LabProvisioned is the lab snapshot up takes of each node right after its provisioning;
// `lite lab reset` restores it.
const LabProvisioned = "provisioned"
