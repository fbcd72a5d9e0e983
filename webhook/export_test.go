package webhook

import "github.com/stytchguard/stytchguard/internal/svix"

// Sign signs a delivery, as a sender (Svix, the emulator) does.
var Sign = svix.Sign
