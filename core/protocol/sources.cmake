target_sources(deltascope_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/clock.h
    ${CMAKE_CURRENT_LIST_DIR}/clock.cpp
    ${CMAKE_CURRENT_LIST_DIR}/errorcodes.h
    ${CMAKE_CURRENT_LIST_DIR}/errorcodes.cpp
    ${CMAKE_CURRENT_LIST_DIR}/envelope.h
    ${CMAKE_CURRENT_LIST_DIR}/envelope.cpp
    ${CMAKE_CURRENT_LIST_DIR}/transport.h
    ${CMAKE_CURRENT_LIST_DIR}/websockettransport.h
    ${CMAKE_CURRENT_LIST_DIR}/websockettransport.cpp
    ${CMAKE_CURRENT_LIST_DIR}/loopbacktransport.h
    ${CMAKE_CURRENT_LIST_DIR}/loopbacktransport.cpp
    ${CMAKE_CURRENT_LIST_DIR}/reconnectpolicy.h
    ${CMAKE_CURRENT_LIST_DIR}/reconnectpolicy.cpp
    ${CMAKE_CURRENT_LIST_DIR}/protocolclient.h
    ${CMAKE_CURRENT_LIST_DIR}/protocolclient.cpp
)
