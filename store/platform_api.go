package store

// PlatformAPI marks votes and audit entries that came through shipgate's HTTP API (a CI token acting for
// a person) rather than a click in a chat platform. Nothing is posted to it.
const PlatformAPI Platform = "api"
