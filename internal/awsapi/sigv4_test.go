package awsapi_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/awsapi"
)

func TestLoadCredentials(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    awsapi.Credentials
		wantErr string
	}{
		{"pairs, comments and blank lines", "# local keys\nAKID1 secret1\n\n  AKID2\tsecret2  \n",
			awsapi.Credentials{"AKID1": "secret1", "AKID2": "secret2"}, ""},
		{"a line without a secret", "AKID1\n", nil, ":1: want an access key id and a secret key"},
		{"a line with three fields", "AKID1 s1\nAKID2 s 2\n", nil, ":2: want an access key id and a secret key"},
		{"a key twice", "AKID1 a\nAKID1 b\n", nil, "access key AKID1 appears twice"},
		{"no key at all", "# nobody\n", nil, "holds no access key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := awsapi.LoadCredentials(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("LoadCredentials = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := awsapi.LoadCredentials(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing file loaded")
	}
}
