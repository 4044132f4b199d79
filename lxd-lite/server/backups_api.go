package server

import (
	"context"
	"io"
	"net/http"

	"lite/client/api"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/operations"
)

// backupAPIEndpoints are LXD's stored backups (container_backup): create one in an
// operation, list, rename, delete, and download its tarball (the format lite export writes,
// which POST /1.0/instances with an octet-stream body imports).
var backupAPIEndpoints = []endpoint{
	{"GET /1.0/instances/{name}/backups", listBackups},
	{"POST /1.0/instances/{name}/backups", createBackup},
	{"GET /1.0/instances/{name}/backups/{backup}", getBackup},
	{"POST /1.0/instances/{name}/backups/{backup}", renameBackup},
	{"DELETE /1.0/instances/{name}/backups/{backup}", deleteBackup},
	{"GET /1.0/instances/{name}/backups/{backup}/export", exportBackup},
}

func listBackups(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	list, err := s.Backups.Backups(r.Context(), name)
	if err != nil {
		return Error(err)
	}
	if recursion(r) == "" || recursion(r) == "0" {
		urls := make([]string, 0, len(list))
		for _, b := range list {
			urls = append(urls, instance.BackupURL(name, b.Name))
		}
		return Sync(urls)
	}
	return Sync(list)
}

// backupOp runs fn in an operation on one backup; fn returns the backup's final name.
func backupOp(s *Server, name, backup, desc string, fn func(ctx context.Context) (string, error)) Response {
	res := func(b string) map[string][]string {
		m := map[string][]string{"instances": {instance.URL(name)}, "containers": {instance.URL(name)}}
		// The plain name, as LXD 5.0 answers it: its lxc export takes this entry as the
		// backup's name (trimming only a "/1.0/backups/" prefix).
		if b != "" {
			m["backups"] = []string{b}
		}
		return m
	}
	op := s.Ops.Start(operations.Spec{
		Description: desc,
		Resources:   res(backup),
		Run: func(ctx context.Context, op *operations.Op) error {
			b, err := fn(ctx)
			if err == nil {
				op.SetResources(res(b))
			}
			return err
		},
	})
	return Async(op)
}

func createBackup(s *Server, r *http.Request) Response {
	name := r.PathValue("name")
	var req api.InstanceBackupsPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if err := instance.CheckBackupRequest(req); err != nil {
		return Error(err)
	}
	if _, err := s.Instances.Get(r.Context(), name); err != nil {
		return Error(err)
	}
	if req.Name != "" {
		if _, err := s.Backups.Backup(r.Context(), name, req.Name); err == nil {
			return Errorf(api.ErrAlreadyExists, "backup %q of instance %q already exists", req.Name, name)
		}
	}
	return backupOp(s, name, req.Name, "Backing up instance", func(ctx context.Context) (string, error) {
		return s.Backups.CreateBackup(ctx, name, req)
	})
}

func getBackup(s *Server, r *http.Request) Response {
	b, err := s.Backups.Backup(r.Context(), r.PathValue("name"), r.PathValue("backup"))
	if err != nil {
		return Error(err)
	}
	return Sync(b)
}

func renameBackup(s *Server, r *http.Request) Response {
	name, backup := r.PathValue("name"), r.PathValue("backup")
	var req api.InstanceBackupPost
	if err := decode(r, &req); err != nil {
		return Error(err)
	}
	if _, err := s.Backups.Backup(r.Context(), name, backup); err != nil {
		return Error(err)
	}
	return backupOp(s, name, backup, "Renaming instance backup", func(ctx context.Context) (string, error) {
		return req.Name, s.Backups.RenameBackup(ctx, name, backup, req.Name)
	})
}

func deleteBackup(s *Server, r *http.Request) Response {
	name, backup := r.PathValue("name"), r.PathValue("backup")
	if _, err := s.Backups.Backup(r.Context(), name, backup); err != nil {
		return Error(err)
	}
	return backupOp(s, name, backup, "Removing instance backup", func(ctx context.Context) (string, error) {
		return "", s.Backups.DeleteBackup(ctx, name, backup)
	})
}

func exportBackup(s *Server, r *http.Request) Response {
	f, err := s.Backups.OpenBackup(r.Context(), r.PathValue("name"), r.PathValue("backup"))
	if err != nil {
		return Error(err)
	}
	return Manual(func(w http.ResponseWriter) error {
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		_, err := io.Copy(w, f)
		return err
	})
}
