# Sources of core/protocol: target_sources(deltascope_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/file.cpp ...)
