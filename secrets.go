package main

// Secrets at rest that cannot be hashed: a TOTP secret must be read back
// to check a code. They are sealed with AES-256-GCM under a key that is
// not in the database, so that a copy of the database alone holds nothing
// a client could present: the key lives in a file beside the database
// (created on first start, mode 0600) or, where there is no local file (an
// rqlite cluster), in TOKENAPI_SECRET_KEY. The database holds a sealed
// check value, so a missing or wrong key stops the start with an error
// naming where the key came from, rather than turning into a silent bypass
// or into every code refused.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"tokenapi/internal/rqlite"
)

const secretKeyBytes = 32 // AES-256

// secretKeyEnv holds the key itself, as 64 hex digits; it wins over the
// file. Required with rqlite.
const secretKeyEnv = "TOKENAPI_SECRET_KEY"

// secretKeyOptions are where the key comes from: the file -secret-key-file
// names, or secretKeyEnv, which run reads (never a flag: a key on a
// command line shows in ps).
type secretKeyOptions struct {
	secretKeyFile string // "" for the database's path + ".key"
	secretKey     string // from secretKeyEnv
}

// secretKeySource names where the key of the database at dbPath comes
// from, as loadSecretKey finds it: TOKENAPI_SECRET_KEY, or a key file.
func (o secretKeyOptions) secretKeySource(dbPath string) string {
	switch {
	case o.secretKey != "":
		return secretKeyEnv
	case o.secretKeyFile != "":
		return o.secretKeyFile
	}
	return dbPath + ".key"
}

func (o *secretKeyOptions) secretKeyFlag(fs *flag.FlagSet) {
	fs.StringVar(&o.secretKeyFile, "secret-key-file", "", "the file of the key that seals TOTP secrets, created on first start, mode 0600;\n"+
		"keep it apart from the database's backups (TOKENAPI_SECRET_KEY_FILE; default the -db path + .key).\n"+
		"TOKENAPI_SECRET_KEY, 64 hex digits, gives the key itself instead; required with rqlite")
}

// secretBox seals and opens secrets with one key. Each sealed secret is
// bound to what it is for (its purpose, such as "totp user 7") as GCM's
// additional data, so a sealed value copied to another row does not open.
type secretBox struct {
	aead cipher.AEAD
}

func newSecretBox(key []byte) (*secretBox, error) {
	if len(key) != secretKeyBytes {
		return nil, fmt.Errorf("a secret key is %d bytes, not %d", secretKeyBytes, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &secretBox{aead: aead}, nil
}

// seal returns plain sealed for purpose: a random nonce and the
// ciphertext, in base64, text that any SQLite stores as it is.
func (b *secretBox) seal(plain []byte, purpose string) string {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plain, []byte(purpose)))
}

var errSealBroken = errors.New("the sealed secret does not open with this key")

// open returns what seal sealed for purpose, or errSealBroken.
func (b *secretBox) open(sealed, purpose string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(data) < b.aead.NonceSize() {
		return nil, errSealBroken
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], []byte(purpose))
	if err != nil {
		return nil, errSealBroken
	}
	return plain, nil
}

func totpPurpose(userID int64) string { return "totp user " + strconv.FormatInt(userID, 10) }

// keyCheckPurpose and keyCheckText make the check value: sealed once with
// the first key, it opens only with that key.
const (
	keyCheckPurpose = "key check"
	keyCheckText    = "tokenapi secret key"
)

// openSecrets returns the box for the database db, opened at dbPath, with
// the key from hexKey (TOKENAPI_SECRET_KEY) or else from keyFile ("" for
// dbPath + ".key"). A new database's first start creates the key file; a
// database that holds a check value needs the key that sealed it.
func openSecrets(ctx context.Context, db *sqlStore, dbPath, keyFile, hexKey string) (*secretBox, error) {
	check, err := db.secretKeyCheck(ctx)
	if err != nil {
		return nil, err
	}
	key, source, err := loadSecretKey(dbPath, keyFile, hexKey, check != "")
	if err != nil {
		return nil, err
	}
	box, err := newSecretBox(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if check == "" {
		// Two processes starting at once on a new database both try; the
		// first check stored stands, and the other's key is tried on it.
		if check, err = db.storeSecretKeyCheck(ctx, box.seal([]byte(keyCheckText), keyCheckPurpose)); err != nil {
			return nil, err
		}
	}
	if plain, err := box.open(check, keyCheckPurpose); err != nil || string(plain) != keyCheckText {
		return nil, fmt.Errorf("%s holds another key than the one this database's TOTP secrets were sealed with; restore the right key", source)
	}
	return box, nil
}

// loadSecretKey reads the key from hexKey, or the key file, which it
// creates when it does not exist and the database has no sealed secrets
// yet (sealed false). It returns where the key came from, for errors.
func loadSecretKey(dbPath, keyFile, hexKey string, sealed bool) ([]byte, string, error) {
	if hexKey != "" {
		key, err := parseSecretKey(hexKey)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", secretKeyEnv, err)
		}
		return key, secretKeyEnv, nil
	}
	if keyFile == "" {
		if rqlite.IsURL(dbPath) {
			return nil, "", fmt.Errorf("%s is required with rqlite, where there is no local file to keep the key in (make one with: openssl rand -hex 32)", secretKeyEnv)
		}
		keyFile = secretKeyOptions{}.secretKeySource(dbPath)
	}
	data, err := os.ReadFile(keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		if sealed {
			return nil, "", fmt.Errorf("secret key file %s is missing, and this database holds secrets sealed with it; restore the file (or give the key in %s)", keyFile, secretKeyEnv)
		}
		data, err = createSecretKeyFile(keyFile)
	}
	if err != nil {
		return nil, "", fmt.Errorf("secret key file %s: %w", keyFile, err)
	}
	key, err := parseSecretKey(string(data))
	if err != nil {
		return nil, "", fmt.Errorf("secret key file %s: %w", keyFile, err)
	}
	return key, "secret key file " + keyFile, nil
}

// createSecretKeyFile writes a new random key to path, readable by its
// owner alone, and returns its contents. When another process created the
// file first, it returns that one's.
func createSecretKeyFile(path string) ([]byte, error) {
	key := make([]byte, secretKeyBytes)
	rand.Read(key)
	text := []byte(hex.EncodeToString(key) + "\n")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(text); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return text, f.Close()
}

// parseSecretKey reads a key written as 64 hex digits.
func parseSecretKey(s string) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(key) != secretKeyBytes {
		return nil, fmt.Errorf("a secret key is %d hex digits (%d bytes; make one with: openssl rand -hex 32)", 2*secretKeyBytes, secretKeyBytes)
	}
	return key, nil
}
