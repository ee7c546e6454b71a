/* A backtest's results as CSV: closed trades, the order log, the equity
 * curve.  Times twice (ISO text for people, ms for programs); numbers at 10
 * significant digits.  The caller owns the FILE (temp file + rename). */
#include "qtune/report.h"

static const char *feed_symbol(const qt_feed *feeds, int n_feeds, int inst) {
  return inst >= 0 && inst < n_feeds ? feeds[inst].inst.symbol : "";
}

static int done(FILE *f, const char *what, qt_err *err) {
  return ferror(f) ? qt_err_set(err, QT_EIO, "%s CSV: write failed", what) : QT_OK;
}

int qt_report_trades_csv(FILE *f, const qt_result *r, const qt_feed *feeds, int n_feeds,
                         qt_err *err) {
  fprintf(f, "inst,symbol,side,leg,entry_time,exit_time,entry_ms,exit_ms,qty,entry_price,"
             "exit_price,pnl,fees,funding,bars_held,exit_reason\n");
  for (size_t k = 0; k < r->n_trades; k++) {
    const qt_trade_rec *t = &r->trades[k];
    char a[40], b[40];
    qt_time_format(t->entry_ms, a, sizeof a);
    qt_time_format(t->exit_ms, b, sizeof b);
    fprintf(f, "%d,%s,%s,%s,%s,%s,%lld,%lld,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%lld,%s\n", t->inst,
            feed_symbol(feeds, n_feeds, t->inst), t->side == QT_BUY ? "long" : "short",
            qt_leg_name(t->leg), a, b, (long long)t->entry_ms, (long long)t->exit_ms, t->qty,
            t->entry_price, t->exit_price, t->pnl, t->fees, t->funding, (long long)t->bars_held,
            qt_exit_reason_name(t->exit_reason));
  }
  return done(f, "trades", err);
}

int qt_report_orders_csv(FILE *f, const qt_result *r, const qt_feed *feeds, int n_feeds,
                         qt_err *err) {
  fprintf(f, "time,ts_ms,action,id,inst,symbol,side,type,leg,qty,price,post_only,reduce_only,"
             "expire_ms\n");
  for (size_t k = 0; k < r->n_order_log; k++) {
    const qt_order_event *o = &r->order_log[k];
    char a[40];
    qt_time_format(o->ts_ms, a, sizeof a);
    fprintf(f, "%s,%lld,%s,%lld,%d,%s,%s,%s,%s,%.10g,%.10g,%d,%d,%lld\n", a, (long long)o->ts_ms,
            qt_order_action_name(o->action), (long long)o->id, o->inst,
            feed_symbol(feeds, n_feeds, o->inst), o->side == QT_BUY ? "buy" : "sell",
            qt_order_type_name(o->type), qt_leg_name(o->leg), o->qty, o->price,
            (o->flags & QT_ORDER_POST_ONLY) != 0, (o->flags & QT_ORDER_REDUCE_ONLY) != 0,
            (long long)o->expire_ms);
  }
  return done(f, "orders", err);
}

int qt_report_equity_csv(FILE *f, const qt_result *r, qt_err *err) {
  fprintf(f, "ts_ms,time,equity,exposure\n");
  for (size_t i = 0; i < r->n_bars; i++) {
    char a[40];
    qt_time_format(r->ts_ms[i], a, sizeof a);
    fprintf(f, "%lld,%s,%.10g,%.6g\n", (long long)r->ts_ms[i], a, r->equity[i], r->exposure[i]);
  }
  return done(f, "equity", err);
}
