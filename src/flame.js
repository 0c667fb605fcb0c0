/* The flame graph's script: hover, zoom, search. Each frame is a <g
 * class="f"> carrying its name (data-n), value (data-v), offset in samples
 * (data-x) and depth (data-d); a diff graph also carries the base's share
 * (data-b), a weighted type's its count (data-o: objects, calls), and the
 * root element the unit of the values (data-unit) and of the counts
 * (data-count-unit).
 * export-svg.c embeds this file as it is. */
var W = 1200, X0 = 10;
var fs = [].slice.call(document.querySelectorAll('g.f'));
var tot = +fs[0].getAttribute('data-v');
var det = document.getElementById('details');
var mat = document.getElementById('matched');
var diff = document.documentElement.getAttribute('data-diff') == '1';
var unit = document.documentElement.getAttribute('data-unit') || 'samples';
var cunit = document.documentElement.getAttribute('data-count-unit') || '';

/* A value as the SVG's titles give it: bytes as a size (1.5 MiB). */
function amount(v) {
	if (unit != 'bytes')
		return v + ' ' + unit;
	var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
	while (v >= 1024 && i + 1 < u.length) {
		v /= 1024;
		i++;
	}
	return (i ? v.toFixed(1) : v.toFixed(0)) + ' ' + u[i];
}

function nm(g) { return g.getAttribute('data-n'); }

/* The label that fits a frame w pixels wide (7 pixels a character). */
function fit(g, w) {
	var t = g.querySelector('text'), n = nm(g), c = Math.floor((w - 6) / 7);
	t.textContent = w < 21 ? '' : (n.length <= c ? n : n.substring(0, c - 2) + '..');
}

function info(g) {
	var v = +g.getAttribute('data-v');
	var s = nm(g) + ' (' + amount(v);
	if (cunit && g.hasAttribute('data-o'))
		s += ' in ' + g.getAttribute('data-o') + ' ' + cunit;
	s += ', ' + (100 * v / tot).toFixed(2) + '%';
	if (diff) {
		var b = 100 * +g.getAttribute('data-b');
		s += '; base ' + b.toFixed(2) + '%, change ' + ((100 * v / tot) - b).toFixed(2) + ' points';
	}
	return s + ')';
}

fs.forEach(function (g) {
	g.addEventListener('mouseover', function () { det.textContent = info(g); });
	g.addEventListener('mouseout', function () { det.textContent = ' '; });
	g.addEventListener('click', function (e) { zoom(g); e.stopPropagation(); });
});

/* Frame z to the whole width: its callees scaled with it, its callers
 * (below it) full width, everything else hidden. */
function zoom(z) {
	var x0 = +z.getAttribute('data-x'), w0 = +z.getAttribute('data-v'), d0 = +z.getAttribute('data-d');
	fs.forEach(function (g) {
		var x = +g.getAttribute('data-x'), v = +g.getAttribute('data-v'), d = +g.getAttribute('data-d');
		var r = g.querySelector('rect'), t = g.querySelector('text');
		var inside = x >= x0 && x + v <= x0 + w0 && d >= d0;
		var below = d < d0 && x <= x0 && x + v >= x0 + w0;
		if (!inside && !below) {
			g.style.display = 'none';
			return;
		}
		g.style.display = '';
		var nx = below ? X0 : X0 + (x - x0) / w0 * W, nw = below ? W : v / w0 * W;
		r.setAttribute('x', nx.toFixed(2));
		r.setAttribute('width', nw.toFixed(2));
		t.setAttribute('x', (nx + 3).toFixed(2));
		fit(g, nw);
		if (below)
			g.classList.add('parent');
		else
			g.classList.remove('parent');
	});
	document.getElementById('unzoom').style.opacity = z === fs[0] ? 0 : 1;
}

/* Frames whose name matches re in magenta, and the share of samples they
 * cover (overlapping frames counted once). */
function search(re) {
	if (re === null || re === undefined)
		return;
	var rx;
	try {
		rx = new RegExp(re);
	} catch (e) {
		mat.textContent = 'bad pattern';
		return;
	}
	var iv = [];
	fs.forEach(function (g) {
		var r = g.querySelector('rect');
		if (!r.hasAttribute('data-c'))
			r.setAttribute('data-c', r.getAttribute('fill'));
		if (re !== '' && rx.test(nm(g))) {
			r.setAttribute('fill', 'rgb(230,0,230)');
			g.classList.add('match');
			iv.push([+g.getAttribute('data-x'), +g.getAttribute('data-v')]);
		} else {
			r.setAttribute('fill', r.getAttribute('data-c'));
			g.classList.remove('match');
		}
	});
	iv.sort(function (a, b) { return a[0] - b[0]; });
	var sum = 0, end = -1;
	iv.forEach(function (p) {
		var s = Math.max(p[0], end), e = p[0] + p[1];
		if (e > s) {
			sum += e - s;
			end = e;
		}
	});
	mat.textContent = re === '' ? ' ' : 'Matched: ' + (100 * sum / tot).toFixed(2) + '%';
	document.documentElement.setAttribute('data-matched', (100 * sum / tot).toFixed(2));
}

function ask() { search(prompt('Search for (regular expression):', '')); }
document.getElementById('search').addEventListener('click', ask);
document.getElementById('unzoom').addEventListener('click', function () { zoom(fs[0]); });
document.documentElement.addEventListener('click', function () { zoom(fs[0]); });
window.addEventListener('keydown', function (e) {
	if ((e.ctrlKey && e.key == 'f') || e.key == '/') {
		e.preventDefault();
		ask();
	} else if (e.key == 'Escape') {
		zoom(fs[0]);
		search('');
	}
});

/* #search=RE and #zoom=RE in the address: search, and zoom to the widest
 * frame whose name matches. */
var m = location.hash.match(/search=([^&]*)/);
if (m)
	search(decodeURIComponent(m[1]));
var z = location.hash.match(/zoom=([^&]*)/);
if (z) {
	var zr = new RegExp(decodeURIComponent(z[1])), best = null;
	fs.forEach(function (g) {
		if (zr.test(nm(g)) && (!best || +g.getAttribute('data-v') > +best.getAttribute('data-v')))
			best = g;
	});
	if (best)
		zoom(best);
}
