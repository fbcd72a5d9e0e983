package svix

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// MaxBodyBytes bounds a delivery's body.
const MaxBodyBytes = 1 << 20

// DecodeSecret returns the key of an endpoint's signing secret
// ("whsec_" and base64), as Stytch's dashboard shows it.
func DecodeSecret(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, errors.New(`webhook: the secret must start with "whsec_"`)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) == 0 {
		return nil, errors.New("svix: the secret after whsec_ is not base64")
	}
	return key, nil
}

// MAC is the HMAC-SHA256 of a delivery: its id, timestamp (Unix seconds)
// and body, joined with dots.
func MAC(key []byte, id, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// Sign returns the svix-signature header value ("v1,<base64>") of a
// delivery, as Svix computes it.
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := DecodeSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(MAC(key, id, strconv.FormatInt(timestamp.Unix(), 10), body)), nil
}
