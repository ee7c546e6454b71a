/* qtune: the whole public API of libqtune, one header per layer. */
#ifndef QTUNE_QTUNE_QTUNE_H
#define QTUNE_QTUNE_QTUNE_H

#include "qtune/core.h"
#include "qtune/data.h"
#include "qtune/indicators.h"
#include "qtune/strategy.h"
#include "qtune/engine.h"
#include "qtune/metrics.h"
#include "qtune/storage.h"
#include "qtune/strategies.h"
#include "qtune/optimize.h"
#include "qtune/validate.h"
#include "qtune/tune.h"
#include "qtune/live.h"
#include "qtune/report.h"

#endif
