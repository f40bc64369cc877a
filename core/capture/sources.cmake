# Sources of core/capture: target_sources(deltascope_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/file.cpp ...)
