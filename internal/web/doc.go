// Package web is Rampart's built-in web UI: an overview of the alert store
// (alerts per day, top sources and prefixes, flagged returners), a page per
// source (timeline, cadence histogram, rules, log lines, abuse contact,
// decisions), the decisions with ban and unban, and the abuse report
// drafts to review and approve.
//
// Pages are html/template documents rendered on the server from embedded
// templates, charts are SVG drawn by those templates, and the style sheet
// is embedded too: the UI needs no build step, no CDN, works offline and
// is read without JavaScript (it has none). Everything shown goes through
// html/template's escaping, because alert logs are attacker-controlled
// text; the Content-Security-Policy forbids inline scripts and styles, so
// an escaping mistake would still not run.
//
// Access is by an admin token, posted once to a sign-in form, then by a
// session cookie (HttpOnly, SameSite=Strict, Secure over TLS); every POST
// carries the session's CSRF token, compared in constant time. The UI's
// routes accept only that cookie, never an Authorization header, so the
// browser's ambient credentials cannot reach the API and an API token
// cannot drive the UI.
//
// The UI reads through small interfaces declared here (Alerts, Decisions,
// Agents, Drafts, ...), implemented by the alert store and by the central
// server; every source is optional and pages without theirs are left out.
// It does not open stores, listen, or decide anything itself: ban and
// unban go to the Decisions it is given, which apply the server's rules.
// It keeps no package-level state.
package web
