// The whole public API of authstore.
#pragma once

#include "authstore/client_tokens.h"
#include "authstore/clock.h"
#include "authstore/codes.h"
#include "authstore/export.h"
#include "authstore/metrics.h"
#include "authstore/options.h"
#include "authstore/payloads.h"
#include "authstore/refresh.h"
#include "authstore/replay.h"
#include "authstore/sessions.h"
#include "authstore/status.h"
#include "authstore/store.h"
