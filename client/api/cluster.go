package api

// Cluster is GET /1.0/cluster: whether this server is a cluster member and under which name.
type Cluster struct {
	ServerName   string                   `json:"server_name"`
	Enabled      bool                     `json:"enabled"`
	MemberConfig []ClusterMemberConfigKey `json:"member_config"`
}

// ClusterMemberConfigKey is a member-specific config key a joining server must provide (LXD's
// shape; lite asks for none yet, the list is always empty).
type ClusterMemberConfigKey struct {
	Entity      string `json:"entity"`
	Name        string `json:"name"`
	Key         string `json:"key"`
	Value       string `json:"value"`
	Description string `json:"description"`
}

// ClusterPut is PUT /1.0/cluster: {server_name, enabled: true} makes this server the first
// member; with cluster_token it joins the cluster the token is for.
type ClusterPut struct {
	Cluster
	ClusterAddress     string `json:"cluster_address"`
	ClusterCertificate string `json:"cluster_certificate"`
	ServerAddress      string `json:"server_address"`
	ClusterToken       string `json:"cluster_token"`
	// DatabaseAddress is where this member's dqlite node listens (HOST:PORT; lite's own
	// field: LXD multiplexes dqlite on its HTTPS port). Empty: the HTTPS port plus one.
	DatabaseAddress string `json:"database_address,omitempty"`
}

// ClusterMemberPut is the writable part of a member.
type ClusterMemberPut struct {
	Config        map[string]string `json:"config"`
	Description   string            `json:"description"`
	Roles         []string          `json:"roles"`
	FailureDomain string            `json:"failure_domain"`
	Groups        []string          `json:"groups"`
}

// ClusterMember is one member of the cluster (GET /1.0/cluster/members/NAME).
type ClusterMember struct {
	ClusterMemberPut
	ServerName   string `json:"server_name"`
	URL          string `json:"url"`
	Database     bool   `json:"database"`
	Status       string `json:"status"`
	Message      string `json:"message"`
	Architecture string `json:"architecture"`
}

// Member statuses.
const (
	ClusterMemberOnline  = "Online"
	ClusterMemberOffline = "Offline"
)

// ClusterMembersPost is POST /1.0/cluster/members: ask for a join token for a new member.
type ClusterMembersPost struct {
	ServerName string `json:"server_name"`
}

// ClusterMemberJoinToken is what a join token carries (base64 of this JSON, as LXD).
type ClusterMemberJoinToken struct {
	ServerName  string   `json:"server_name"`
	Fingerprint string   `json:"fingerprint"`
	Addresses   []string `json:"addresses"`
	Secret      string   `json:"secret"`
	ExpiresAt   string   `json:"expires_at"`
}

// ClusterJoinRequest is what a joining server sends to a member (lite's internal endpoint
// POST /internal/cluster/accept), authenticated by the token's secret.
type ClusterJoinRequest struct {
	ServerName      string `json:"server_name"`
	Secret          string `json:"secret"`
	Address         string `json:"address"`          // HTTPS address of the joining server
	DatabaseAddress string `json:"database_address"` // its dqlite address
	Architecture    string `json:"architecture"`
	Time            string `json:"time"` // the joining server's clock, RFC 3339 with nanoseconds
}

// ClusterJoinResponse is the member's answer: the cluster certificate and key, and where the
// database nodes are.
type ClusterJoinResponse struct {
	Certificate       string   `json:"certificate"`
	Key               string   `json:"key"`
	DatabaseAddresses []string `json:"database_addresses"`
}
