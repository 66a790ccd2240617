/* demo.js - the demo portal page: shows the ticket the login page brought
 * and links back to the login page named by ?app=... (tools/run). */
(function () {
	'use strict';
	var params = new URLSearchParams(window.location.search);
	var ticket = params.get('ticket');
	if (ticket) {
		document.getElementById('title').textContent = 'Logged in: ticket received';
		document.getElementById('ticket').textContent = ticket;
	}
	var app = params.get('app');
	if (app && /^[A-Za-z0-9_-]{8,64}$/.test(app)) {
		document.getElementById('login').setAttribute('href', '/login/' + app);
	}
}());
