# Sources of core/faults: the fault proxy (byte and message level), fault specs and plans.
target_sources(deltascope_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/websocketframe.h
    ${CMAKE_CURRENT_LIST_DIR}/websocketframe.cpp
    ${CMAKE_CURRENT_LIST_DIR}/jsonpredicate.h
    ${CMAKE_CURRENT_LIST_DIR}/jsonpredicate.cpp
    ${CMAKE_CURRENT_LIST_DIR}/faultspec.h
    ${CMAKE_CURRENT_LIST_DIR}/faultspec.cpp
    ${CMAKE_CURRENT_LIST_DIR}/faultproxy.h
    ${CMAKE_CURRENT_LIST_DIR}/faultproxy.cpp
    ${CMAKE_CURRENT_LIST_DIR}/faultplan.h
    ${CMAKE_CURRENT_LIST_DIR}/faultplan.cpp
    ${CMAKE_CURRENT_LIST_DIR}/proxycommand.h
    ${CMAKE_CURRENT_LIST_DIR}/proxycommand.cpp
    ${CMAKE_CURRENT_LIST_DIR}/faultevents.h
    ${CMAKE_CURRENT_LIST_DIR}/faultevents.cpp
    ${CMAKE_CURRENT_LIST_DIR}/servercontrol.h
    ${CMAKE_CURRENT_LIST_DIR}/servercontrol.cpp
    ${CMAKE_CURRENT_LIST_DIR}/faultwatch.h
    ${CMAKE_CURRENT_LIST_DIR}/faultwatch.cpp
)
