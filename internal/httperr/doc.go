// Package httperr is plumbing shared by middleware and authz: their JSON
// error answers, in Stytch's error shape.
package httperr
