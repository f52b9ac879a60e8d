#pragma once
// Named _CZlib, not CZlib: ZIPFoundation already owns a module called CZlib.
#include <zlib.h>
