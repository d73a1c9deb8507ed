namespace Purser.Gateway.Dashboard;

/// <summary>
/// The dashboard's one stylesheet and one script, served from the gateway itself: no JavaScript build, no CDN, and a
/// Content-Security-Policy that allows nothing inline.
/// </summary>
internal static class DashboardAssets
{
    public const string Css = """
        :root { --ink:#1d2433; --muted:#5b6478; --line:#d9dde6; --accent:#2f5bd3; --bad:#c0392b; --ok:#1e8449; --bg:#f6f7fb; }
        * { box-sizing: border-box; }
        body { margin:0; font:14px/1.45 system-ui, sans-serif; color:var(--ink); background:var(--bg); }
        header { display:flex; align-items:center; gap:24px; padding:10px 24px; background:#111a2e; color:#fff; }
        header strong { font-size:16px; letter-spacing:.5px; }
        header nav a { color:#cfd8ef; margin-right:16px; text-decoration:none; }
        header nav a.here { color:#fff; border-bottom:2px solid #fff; }
        header form { margin-left:auto; }
        main { padding:20px 24px; max-width:1200px; }
        h1 { font-size:20px; margin:0 0 16px; }
        h2 { font-size:16px; margin:24px 0 8px; }
        .cards { display:flex; gap:12px; flex-wrap:wrap; }
        .card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px 16px; min-width:160px; }
        .card .label { color:var(--muted); font-size:12px; text-transform:uppercase; }
        .card .value { font-size:22px; font-weight:600; }
        table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); }
        th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
        th { background:#eef1f7; font-weight:600; font-size:12px; }
        td.num { text-align:right; font-variant-numeric:tabular-nums; }
        form.inline { display:inline; }
        fieldset { border:1px solid var(--line); background:#fff; border-radius:6px; margin:0 0 12px; }
        label { display:inline-block; margin:4px 12px 4px 0; }
        label span { display:block; font-size:12px; color:var(--muted); }
        input, select, textarea { font:inherit; padding:4px 6px; border:1px solid #b8bfcc; border-radius:4px; }
        textarea { width:100%; min-height:70px; }
        label.wide { display:block; max-width:720px; }
        button { font:inherit; padding:4px 12px; border:1px solid var(--accent); background:var(--accent); color:#fff; border-radius:4px; cursor:pointer; }
        button.quiet { background:#fff; color:var(--accent); }
        button.danger { background:var(--bad); border-color:var(--bad); }
        .msg { padding:8px 12px; border-radius:4px; margin:0 0 12px; }
        .msg.ok { background:#e3f4ea; color:var(--ok); }
        .msg.error { background:#fbe5e2; color:var(--bad); }
        .secret { font:15px monospace; background:#fff7d6; border:1px solid #e6c84c; padding:10px; margin:0 0 12px; }
        .tag { display:inline-block; padding:0 6px; border-radius:3px; background:#eef1f7; font-size:12px; }
        .tag.hard, .tag.blocked { background:#fbe5e2; color:var(--bad); }
        .tag.soft { background:#fff2d6; }
        .muted { color:var(--muted); }
        details { margin:2px 0; }
        svg text { font:11px system-ui, sans-serif; fill:var(--muted); }
        """;

    public const string Script = """
        // Live feeds (events, reservation trees): reload what the server rendered every two seconds.
        (function () {
          document.querySelectorAll('[data-src]').forEach(function (feed) {
            const refresh = async () => {
              try {
                const response = await fetch(feed.dataset.src, { credentials: 'same-origin', cache: 'no-store' });
                if (response.ok) { feed.innerHTML = await response.text(); }
              } catch (e) { /* the next tick retries */ }
            };
            setInterval(refresh, 2000);
          });

          // Ensemble form: the server projects the worst case of the sample prompt as the operator types.
          const form = document.getElementById('ensemble-form');
          const out = document.getElementById('projection');
          if (form && out) {
            let timer = 0;
            const project = async () => {
              const response = await fetch('/ui/ensembles/preview', { method: 'POST', body: new FormData(form), credentials: 'same-origin' });
              if (response.ok) { out.innerHTML = await response.text(); }
            };
            form.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(project, 250); });
          }

          // Keys page: picking another budget in a Cap form shows that budget's fields, ready to edit.
          document.querySelectorAll('select.cap-budget').forEach((select) => {
            select.addEventListener('change', () => {
              const option = select.selectedOptions[0];
              const fields = select.form.elements;
              fields['cap_usd'].value = option.dataset.capUsd || '';
              fields['cap_tokens'].value = option.dataset.capTokens || '';
              fields['window'].value = option.dataset.window;
              fields['enforcement'].value = option.dataset.enforcement;
              fields['mode'].value = option.dataset.mode;
              fields['timezone'].value = option.dataset.timezone;
              fields['throttle_rpm'].value = option.dataset.throttleRpm || '';
            });
          });
        })();
        """;
}
