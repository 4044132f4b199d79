package server

// LXD's clients gate features on the api_extensions list of GET /1.0 (a plain membership
// test, LXD-API.md §2.1): one that is listed but not implemented makes them call endpoints
// that are not there; one that is implemented but not listed makes them refuse a working
// feature ("The server is missing the required ... API extension"). So each extension lited
// advertises names the endpoints its behaviour needs (checked against the endpoint table) and
// the test that drives it (checked to exist), in TestExtensionsAreImplemented.
type extension struct {
	name      string
	endpoints []string // patterns of the endpoint table the behaviour uses
	proof     string   // the test driving it, "file.go:TestName"
}

var extensions = []extension{
	{"instances", []string{"GET /1.0/instances", "POST /1.0/instances"}, "test/lxdclient_test.go:TestLXDClient"},
	{"api_filtering", []string{"GET /1.0/instances"}, "test/lxdclient_test.go:TestLXDClient"},
	{"instance_get_full", []string{"GET /1.0/instances/{name}"}, "lxd-lite/server/instances_test.go:TestGetInstanceFull"},
	{"container_full", []string{"GET /1.0/instances"}, "test/lxdclient_test.go:TestLXDClient"},
	{"container_last_used_at", []string{"GET /1.0/instances/{name}"}, "lxd-lite/server/legacy_test.go:TestLegacyContainersEndpoints"},
	{"operation_description", []string{"GET /1.0/operations/{id}"}, "lxd-lite/server/legacy_test.go:TestLegacyContainersEndpoints"},
	{"event_lifecycle", []string{"GET /1.0/events"}, "lxd-lite/server/events_test.go:TestEventsCarryOperationsAndLifecycle"},
	{"network", []string{"GET /1.0/networks", "POST /1.0/networks", "PUT /1.0/networks/{name}", "DELETE /1.0/networks/{name}"}, "test/lxdclient_test.go:TestLXDClient"},
	{"network_state", []string{"GET /1.0/networks/{name}/state"}, "test/lxdclient_test.go:TestLXDClient"},
	{"network_leases", []string{"GET /1.0/networks/{name}/leases"}, "lxd-lite/server/networks_test.go:TestNetworkEndpoints"},
	{"instance_nic_network", []string{"POST /1.0/instances"}, "test/network_test.go:TestNetwork"},
	{"directory_manipulation", []string{"GET /1.0/instances/{name}/files", "POST /1.0/instances/{name}/files"}, "test/lxdclient_test.go:TestLXDClient"},
	{"file_symlinks", []string{"POST /1.0/instances/{name}/files"}, "lxd-lite/server/files_test.go:TestFileAPIHeaders"},
	{"file_get_symlink", []string{"GET /1.0/instances/{name}/files"}, "lxd-lite/server/files_test.go:TestFileAPIHeaders"},
	{"file_delete", []string{"DELETE /1.0/instances/{name}/files"}, "test/lxdclient_test.go:TestLXDClient"},
	{"file_append", []string{"POST /1.0/instances/{name}/files"}, "lxd-lite/server/files_test.go:TestFileAPIHeaders"},
	{"console", []string{"POST /1.0/instances/{name}/console", "GET /1.0/instances/{name}/console"}, "test/lxdclient_pty_test.go:TestLXDClientInteractive"},
	{"container_exec_user_group_cwd", []string{"POST /1.0/instances/{name}/exec"}, "test/lxdclient_test.go:TestLXDClient"},
	{"container_exec_signal_handling", []string{"GET /1.0/operations/{id}/websocket"}, "lxd-lite/server/exec_test.go:TestExecSignal"},
	{"container_only_migration", []string{"POST /1.0/instances"}, "test/snapshot_test.go:TestSnapshotRestoreCopyRename"},
	{"snapshot_expiry", []string{"PUT /1.0/instances/{name}/snapshots/{snap}"}, "lxd-lite/server/legacy_test.go:TestLegacyContainersEndpoints"},
	{"snapshot_expiry_creation", []string{"POST /1.0/instances/{name}/snapshots"}, "test/lxdclient_test.go:TestLXDClient"},
	{"snapshot_scheduling", []string{"POST /1.0/instances/{name}/snapshots"}, "lxd-lite/server/snapshots_test.go:TestSnapshotSchedule"},
	{"container_edit_metadata", []string{"GET /1.0/instances/{name}/metadata", "PUT /1.0/instances/{name}/metadata",
		"GET /1.0/instances/{name}/metadata/templates", "POST /1.0/instances/{name}/metadata/templates",
		"PUT /1.0/instances/{name}/metadata/templates", "DELETE /1.0/instances/{name}/metadata/templates"},
		"lxd-lite/server/metadata_test.go:TestInstanceTemplatesAPI"},
	{"container_backup", []string{"GET /1.0/instances/{name}/backups", "POST /1.0/instances/{name}/backups",
		"GET /1.0/instances/{name}/backups/{backup}", "POST /1.0/instances/{name}/backups/{backup}",
		"DELETE /1.0/instances/{name}/backups/{backup}", "GET /1.0/instances/{name}/backups/{backup}/export", "POST /1.0/instances"},
		"test/lxdclient_test.go:TestLXDClient"},
	{"backup_override_name", []string{"POST /1.0/instances"}, "test/lxdclient_test.go:TestLXDClient"},
	{"image_create_aliases", []string{"POST /1.0/images"}, "test/lxdclient_test.go:TestLXDClient"},
}

// notAdvertised are extensions lited must not list: their clients then call endpoints lited
// does not serve (projects, storage pools, LXD's backups API, bulk state, resources) or treat
// answers differently (storage_and_network_operations makes pylxd expect async PUTs).
var notAdvertised = []string{"projects", "storage", "instance_bulk_state_change",
	"resources", "resources_v2", "storage_and_network_operations", "virtual-machines", "clustering",
	"container_exec_recording", "instance_all_projects"}

// Extensions returns the names lited advertises in GET /1.0.
func Extensions() []string {
	out := make([]string, len(extensions))
	for i, e := range extensions {
		out[i] = e.name
	}
	return out
}
