/*
 * portal.js - progressive enhancement of the hosted login page
 * (lib/portal_page.c).  The page works without it; with it the resend
 * button waits out its cooldown with a visible countdown, and a typed or
 * pasted code keeps only its digits.  No inline script anywhere: the page's
 * CSP allows only this file.
 */
(function () {
	'use strict';

	function codeField() {
		var code = document.getElementById('code');
		if (!code) {
			return;
		}
		code.addEventListener('input', function () {
			var digits = code.value.replace(/\D/g, '');
			if (digits !== code.value) {
				code.value = digits;
			}
		});
	}

	function resendCountdown() {
		var button = document.getElementById('resend');
		var out = document.getElementById('countdown');
		if (!button || !out) {
			return;
		}
		var left = parseInt(button.getAttribute('data-wait'), 10) || 0;
		var template = out.getAttribute('data-template') || '{s}';
		var ready = out.getAttribute('data-ready') || '';
		var deadline = Date.now() + left * 1000;

		function tick() {
			left = Math.ceil((deadline - Date.now()) / 1000);
			if (left > 0) {
				button.disabled = true;
				button.setAttribute('aria-disabled', 'true');
				out.textContent = template.replace('{s}', String(left));
				window.setTimeout(tick, Math.min(1000, deadline - Date.now()));
			} else {
				button.disabled = false;
				button.removeAttribute('aria-disabled');
				out.textContent = ready;
			}
		}
		tick();
	}

	function init() {
		codeField();
		resendCountdown();
	}

	if (document.readyState === 'loading') {
		document.addEventListener('DOMContentLoaded', init);
	} else {
		init();
	}
}());
