package config

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/client/trust"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
	"lite/profiles"
)

// ServerClient is the part of the API the server config and trust commands use.
type ServerClient interface {
	GetServer(ctx context.Context) (*api.Server, error)
	UpdateServer(ctx context.Context, put api.ServerPut) error
	GetCertificates(ctx context.Context) ([]api.Certificate, error)
	CreateCertificateToken(ctx context.Context, name string) (*client.Operation, error)
	DeleteCertificate(ctx context.Context, fingerprint string) error
}

// serverClient returns the client for ref's remote ("host2:" or "") as a ServerClient.
func serverClient(f *cli.Factory, ref string) (ServerClient, error) {
	get, _ := f.APIFor(ref)
	return get()
}

// isServerCall tells `lite config get|set|unset|show` aimed at the server from those aimed
// at an instance: a server key has a dot (instance names cannot), and a bare "REMOTE:"
// names a server.
func isServerCall(args []string) bool {
	if len(args) == 0 {
		return true
	}
	first := args[0]
	return strings.HasSuffix(first, ":") || strings.Contains(strings.SplitN(first, "=", 2)[0], ".")
}

// serverArgs splits an optional leading "REMOTE:" off.
func serverArgs(args []string) (string, []string) {
	if len(args) > 0 && strings.HasSuffix(args[0], ":") {
		return args[0], args[1:]
	}
	return "", args
}

// runServerConfig does get/set/unset/show on the server config.
func runServerConfig(ctx context.Context, f *cli.Factory, verb string, args []string) error {
	ref, args := serverArgs(args)
	c, err := serverClient(f, ref)
	if err != nil {
		return err
	}
	srv, err := c.GetServer(ctx)
	if err != nil {
		return err
	}
	cfg := srv.Config
	if cfg == nil {
		cfg = map[string]string{}
	}
	switch verb {
	case "show":
		return output.PrintYAML(f.IO.Out, api.ServerPut{Config: cfg})
	case "get":
		if len(args) != 1 {
			return fmt.Errorf("lite config get [REMOTE:] KEY: want one key: %w", api.ErrInvalid)
		}
		_, err := fmt.Fprintln(f.IO.Out, cfg[args[0]])
		return err
	case "unset":
		for _, k := range args {
			if _, ok := cfg[k]; !ok {
				return fmt.Errorf("server config key %q is not set: %w", k, api.ErrInvalid)
			}
			delete(cfg, k)
		}
	case "set":
		kv, err := keyValues(args)
		if err != nil {
			return err
		}
		for k, v := range kv {
			cfg[k] = v
		}
		// The same table the server checks, so a typo is caught before any request.
		if err := profiles.ValidateServerConfig(cfg); err != nil {
			return err
		}
	}
	return c.UpdateServer(ctx, api.ServerPut{Config: cfg})
}

// newCmdTrust returns `lite config trust add|list|remove`.
func newCmdTrust(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "trust", Short: "Manage the clients trusted over HTTPS", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	add := &cobra.Command{Use: "add [REMOTE:]NAME", Short: "Print a one-time join token for a client called NAME",
		Example: "  lite config trust add laptop\n  (then on the laptop: lite remote add host2 TOKEN)", Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, name := f.APIFor(args[0])
			c, err := serverClient(f, args[0])
			if err != nil {
				return err
			}
			op, err := c.CreateCertificateToken(ctx, name)
			if err != nil {
				return err
			}
			tok, err := tokenFromOp(op.Get())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(f.IO.Out, "Client %s certificate add token:\n%s\n", name, tok)
			return err
		}}
	var format output.Format
	list := &cobra.Command{Use: "list [REMOTE:]", Aliases: []string{"ls"}, Short: "List trusted client certificates", Args: cli.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := serverClient(f, strings.Join(args, ""))
			if err != nil {
				return err
			}
			certs, err := c.GetCertificates(ctx)
			if err != nil {
				return err
			}
			d := output.Data{Header: []string{"NAME", "TYPE", "FINGERPRINT"}, Raw: certs}
			for _, ce := range certs {
				d.Rows = append(d.Rows, []string{ce.Name, ce.Type, ce.Fingerprint[:12]})
			}
			return output.Print(f.IO.Out, format, d)
		}}
	output.AddFormatFlag(list, &format)
	remove := &cobra.Command{Use: "remove [REMOTE:]NAME|FINGERPRINT", Aliases: []string{"rm"}, Short: "Stop trusting a client (refused at once)", Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := serverClient(f, args[0])
			if err != nil {
				return err
			}
			_, who := f.APIFor(args[0])
			certs, err := c.GetCertificates(ctx)
			if err != nil {
				return err
			}
			for _, ce := range certs {
				if ce.Name == who || len(who) >= 12 && strings.HasPrefix(ce.Fingerprint, who) {
					return c.DeleteCertificate(ctx, ce.Fingerprint)
				}
			}
			return fmt.Errorf("no trusted certificate named %q: %w", who, api.ErrNotFound)
		}}
	cmd.AddCommand(add, list, remove)
	return cmd
}

// tokenFromOp builds the printable token from a token operation's metadata.
func tokenFromOp(op api.Operation) (string, error) {
	md := op.Metadata
	str := func(k string) string { s, _ := md[k].(string); return s }
	tok := api.CertificateAddToken{ClientName: str("clientName"), Fingerprint: str("fingerprint"), Secret: str("secret"), ExpiresAt: str("expiresAt")}
	if addrs, ok := md["addresses"].([]any); ok {
		for _, a := range addrs {
			if s, ok := a.(string); ok {
				tok.Addresses = append(tok.Addresses, s)
			}
		}
	}
	if tok.Secret == "" {
		return "", fmt.Errorf("the server's token operation carries no secret: %w", api.ErrInternal)
	}
	if len(tok.Addresses) == 0 {
		return "", fmt.Errorf("the server has no HTTPS address: set core.https_address first (lite config set core.https_address 127.0.0.1:8443): %w", api.ErrInvalid)
	}
	return trust.EncodeToken(tok)
}
